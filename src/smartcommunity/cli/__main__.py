"""``python -m smartcommunity.cli``: the same as the ``smartcommunity`` command."""

from . import main

main()

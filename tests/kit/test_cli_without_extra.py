"""The conformance command registers without the conformance extra: the kit and httpx are
imported only when it runs, so the ``smartcommunity`` command never breaks for want of them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_command_registers_without_httpx() -> None:
    probe = textwrap.dedent("""
        import argparse, sys
        sys.modules["httpx"] = None  # as if the conformance extra were not installed
        from smartcommunity.cli import _conformance
        parser = argparse.ArgumentParser()
        _conformance.add_conformance(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["conformance", "run", "--preset", "demo"])
        assert args.handler is _conformance.command
        assert "smartcommunity.conformance" not in sys.modules
        print("registered")
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "registered"

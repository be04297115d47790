"""Every response of the run held to the OpenAPI (``/req/core/openapi-responses``).

The check runs after every other test and reads only what the kit's client recorded, so it
costs no request and sees every exchange of the run, whichever test made it.
"""

from __future__ import annotations

from .._context import KitContext
from .._openapi import OpenApiJudge, Violation
from .._registry import Failed, check

#: kinds of violation the message spells out; the rest are counted
SHOWN = 8
#: exchanges kept as evidence (the report keeps six per result)
EVIDENCE = 6
#: a schema error's own words are cut here, so one huge body cannot swell the report
LONGEST = 300


@check("/req/core/openapi-responses", last=True)
def test_every_response_keeps_to_the_openapi(ctx: KitContext) -> None:
    judge = OpenApiJudge(ctx.spec)
    base = ctx.client.base_url
    # The same fault on many exchanges is one finding, shown with its first exchange.
    kinds: dict[tuple[str, str], list[Violation]] = {}
    for exchange in list(ctx.client.log):
        for violation in judge.judge(exchange, base):
            kinds.setdefault((violation.operation.name, violation.en), []).append(violation)
    if not kinds:
        return
    ctx.evidence = [found[0].exchange for found in list(kinds.values())[:EVIDENCE]]
    zh, en = [], []
    for found in list(kinds.values())[:SHOWN]:
        first = found[0]
        line = f"{first.request_line(base)} → {first.exchange.status}"
        more_zh = f"（同类应答共 {len(found)} 个）" if len(found) > 1 else ""
        more_en = f" ({len(found)} responses like it)" if len(found) > 1 else ""
        zh.append(f"{line}：{_cut(first.zh)}{more_zh}")
        en.append(f"{line}: {_cut(first.en)}{more_en}")
    rest = len(kinds) - SHOWN
    if rest > 0:
        zh.append(f"另有 {rest} 类不符")
        en.append(f"and {rest} more kinds of violation")
    total = sum(len(found) for found in kinds.values())
    many = "1 response breaks" if total == 1 else f"{total} responses break"
    raise Failed(f"{total} 个应答不符合 OpenAPI：" + "；".join(zh),
                 f"{many} the OpenAPI: " + "; ".join(en))


def _cut(text: str) -> str:
    return text if len(text) <= LONGEST else text[:LONGEST] + " …"

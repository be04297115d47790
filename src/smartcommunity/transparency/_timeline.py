"""A published consultation as the timeline of its procedure, built from data.

Each step of the procedure (topic, notice, sessions, votes, decision, implementation,
feedback) is one :class:`Step` made by one function of :data:`STEPS` from the document as the
public audience receives it. The pages and the printed notice render steps generically, so a
new part of the record is one more function appended to :data:`STEPS` — as residents'
opinions, proposals and the replies to them were.

The steps name organisations and places, never a person: the document is redacted for the
public audience first (/req/public-pages/public-audience), and the steps read only members
that carry no personal information. Residents' opinions and proposals travel beside the
consultation (:class:`WithVoices`); their step reads the stance, channel, the text only where
the author agreed, a proposal's title, text and support count, and the reply — never who spoke,
who was recorded for or who supported (/req/public-pages/voices).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .._moments import moment
from ..privacy import audience_for_role, hide_results, redact, results_rule, results_shown
from ..specification import DEFAULT_VERSION, Spec, load_spec
from ..validation import compile_plan
from ._statistics import CHINA_STANDARD_TIME

__all__ = ["STEPS", "VOICE_MEMBERS", "Line", "Step", "Timeline", "WithVoices", "public_view",
           "timeline", "voices_of"]

Lang = str  # "zh-Hans" or "en"


@dataclass(frozen=True, slots=True)
class Line:
    """One labelled fact of a step (the label may be empty)."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the procedure: its heading, when it happened and what it says."""

    key: str
    title: str
    at: str | None
    lines: tuple[Line, ...] = ()
    items: tuple[Step, ...] = ()  # sub-steps (each session, each vote)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The consultation's public facts in the reader's language."""

    id: str
    title: str
    description: str
    status: str
    community: str
    convener: str
    categories: tuple[str, ...]
    steps: tuple[Step, ...] = field(default_factory=tuple)


#: the members of an opinion or proposal the voices step reads: a publisher may keep only
#: these before redacting, sparing the history and supporters it would redact away anyway
VOICE_MEMBERS = frozenset({
    "resourceType", "specVersion", "id", "consultation", "divisionCode", "stance", "channel",
    "optionId", "text", "textPublic", "title", "supportCount", "receivedAt", "replyDue",
    "reply"})


class WithVoices(dict[str, Any]):
    """A consultation document carrying the opinions and proposals made on it, so that a step
    function, which receives the consultation only, can read them too."""

    __slots__ = ("voices",)

    def __init__(self, doc: Mapping[str, Any], voices: Iterable[Mapping[str, Any]] = ()) -> None:
        super().__init__(doc)
        self.voices: tuple[Mapping[str, Any], ...] = tuple(voices)


def voices_of(doc: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The opinions and proposals on the consultation ``doc`` (none unless it carries them)."""
    rid = doc.get("id")
    return tuple(v for v in getattr(doc, "voices", ())
                 if isinstance(v, Mapping) and (v.get("consultation") or {}).get("id") == rid)


def _t(lang: Lang, zh: str, en: str) -> str:
    return zh if lang.startswith("zh") else en


@functools.cache
def _codelists(spec: Spec, resource_type: str) -> dict[str, str]:
    """The codelist of each coded member of a resource type, by its path (``votes/status``),
    read from the schema's ``x-codelist``."""
    return {"/".join(str(step) for step in leaf.path if step is not None): str(leaf.codelist)
            for leaf in compile_plan(spec, resource_type).leaves
            if leaf.kind == "codelist" and leaf.codelist}


def _code(spec: Spec, doc: Mapping[str, Any], member: str, code: Any, lang: Lang) -> str:
    """The title of the code at ``member`` in the reader's language; a city's own code (open
    codelists) is shown as it is."""
    name = _codelists(spec, str(doc.get("resourceType")))[member]
    values = spec.codelist(name)
    return values.title(str(code), lang) if code in values else str(code)


#: the China Standard Time offset, in seconds east of UTC
_CST_SECONDS = int(CHINA_STANDARD_TIME.utcoffset(None).total_seconds())


def day(when: Any) -> str:
    """The date and time to the minute of a timestamp in China Standard Time, whatever offset
    and letter case it was written with, so that one instant reads the same on every page and
    notice (/req/public-pages/notice-pdf); a date alone is shown as it is."""
    text = str(when or "")
    instant = moment(text)
    if instant is None:  # no offset, so no instant: its wall time as written
        return f"{text[:10]} {text[11:16]}" if len(text) > 10 and text[10] in "Tt" else text
    # Counted in seconds from year 1, since the hours added may leave the years a datetime
    # holds (9999-12-31T20:00Z is 10000-01-01 in China).
    offset = instant.utcoffset() or timedelta(0)
    seconds = ((instant.replace(tzinfo=None) - datetime.min) // timedelta(seconds=1)
               - offset // timedelta(seconds=1) + _CST_SECONDS)
    days, rest = divmod(seconds, 86400)
    if days < 0:
        date_text = "0000-12-31"
    elif days >= date.max.toordinal():
        date_text = "10000-01-01"
    else:
        date_text = date.fromordinal(days + 1).isoformat()
    return f"{date_text} {rest // 3600:02d}:{rest % 3600 // 60:02d}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


StepFn = Callable[[Mapping[str, Any], Spec, Lang, datetime], Step | None]


def _topic(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step:
    origin = doc.get("origin") or {}
    lines = [Line(_t(lang, "议题", "Topic"), _text(doc.get("title"))),
             Line(_t(lang, "内容", "What it is about"), _text(doc.get("description")))]
    if origin.get("type"):
        lines.append(Line(_t(lang, "来源", "Where it came from"),
                          _code(spec, doc, "origin/type", origin["type"], lang)))
    if doc.get("form"):
        lines.append(Line(_t(lang, "协商形式", "Form"),
                          _code(spec, doc, "form", doc["form"], lang)))
    return Step("origin", _t(lang, "议题提出", "Topic proposed"), origin.get("proposedAt"),
                tuple(line for line in lines if line.text))


def _notice(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    notice = doc.get("notice")
    if not isinstance(notice, Mapping):
        return None
    lines = [Line("", _text(notice.get("text")))]
    channels = [_code(spec, doc, "notice/channels", c, lang)
                for c in notice.get("channels") or ()]
    if channels:
        lines.append(Line(_t(lang, "公告渠道", "Published on"), "、".join(channels)
                          if lang.startswith("zh") else ", ".join(channels)))
    if notice.get("deadline"):
        lines.append(Line(_t(lang, "意见截止", "Comments until"), day(notice["deadline"])))
    return Step("notice", _t(lang, "发布公告", "Notice published"), notice.get("publishedAt"),
                tuple(line for line in lines if line.text))


def _sessions(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    items = []
    for s in doc.get("sessions") or ():
        status = _code(spec, doc, "sessions/status", s.get("status"), lang)
        lines = [Line(_t(lang, "状态", "Status"), status)]
        if s.get("place"):
            lines.append(Line(_t(lang, "地点", "Place"), _text(s["place"])))
        attendance = s.get("attendance") or {}
        if isinstance(attendance.get("present"), int):
            lines.append(Line(_t(lang, "到会人数", "Present"), str(attendance["present"])))
        minutes = s.get("minutes") or {}
        if _text(minutes.get("text")):
            lines.append(Line(_t(lang, "会议纪要", "Minutes"), _text(minutes["text"])))
        items.append(Step("sessions", _text(s.get("title")) or _t(lang, "会议", "Meeting"),
                          s.get("start"), tuple(lines)))
    if not items:
        return None
    return Step("sessions", _t(lang, "协商会议", "Meetings"), items[0].at, (), tuple(items))


def _votes(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    options = {o.get("id"): _text(o.get("title")) or str(o.get("id"))
               for o in doc.get("options") or ()}
    items = []
    for v in doc.get("votes") or ():
        status = _code(spec, doc, "votes/status", v.get("status"), lang)
        lines = [Line(_t(lang, "状态", "Status"), status)]
        results = v.get("results")
        # Results appear once due (/req/consultations/results-hidden), never before: the
        # library's rule, the one a server's reads apply, judged again at the page's moment.
        if isinstance(results, Mapping) and results_shown(v, now,
                                                          rule=results_rule(spec.version)):
            for option in (results.get("tally") or {}).get("options") or ():
                code, total = option.get("optionId"), option.get("total")
                lines.append(Line(options.get(code, str(code)),
                                  _t(lang, f"{total} 票", f"{total} votes")))
            if results.get("result"):
                outcome = _code(spec, doc, "votes/results/result", results["result"], lang)
                lines.append(Line(_t(lang, "表决结果", "Result"), outcome))
        else:
            lines.append(Line(_t(lang, "表决结果", "Result"),
                              _t(lang, "尚未公布", "Not yet published")))
        items.append(Step("votes", _text(v.get("question")), v.get("opensAt"), tuple(lines)))
    if not items:
        return None
    return Step("votes", _t(lang, "表决", "Votes"), items[0].at, (), tuple(items))


def _decision(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    decision = doc.get("decision")
    if not isinstance(decision, Mapping):
        return None
    kind = _code(spec, doc, "decision/type", decision.get("type"), lang)
    lines = [Line(_t(lang, "决定", "Decision"), kind),
             Line("", _text(decision.get("text")))]
    return Step("decision", _t(lang, "形成决定", "Decision"), decision.get("decidedAt"),
                tuple(line for line in lines if line.text))


def _implementation(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime
                    ) -> Step | None:
    work = doc.get("implementation")
    if not isinstance(work, Mapping):
        return None
    lines = []
    if isinstance(work.get("progress"), int):
        lines.append(Line(_t(lang, "进度", "Progress"), f"{work['progress']}%"))
    if work.get("plannedCompletion"):
        lines.append(Line(_t(lang, "计划完成", "Planned completion"),
                          day(work["plannedCompletion"])))
    for m in work.get("milestones") or ():
        state = _code(spec, doc, "implementation/milestones/status", m.get("status"), lang)
        lines.append(Line(_text(m.get("title")), f"{state}（{day(m.get('dueDate'))}）"
                          if lang.startswith("zh") else f"{state} ({day(m.get('dueDate'))})"))
    for u in work.get("updates") or ():
        lines.append(Line(day(u.get("at")), _text(u.get("text"))))
    return Step("implementation", _t(lang, "组织实施", "Implementation"), work.get("startedAt"),
                tuple(line for line in lines if line.text))


def _feedback(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    feedback = doc.get("feedback")
    if not isinstance(feedback, Mapping) or not _text(feedback.get("text")):
        return None
    return Step("feedback", _t(lang, "结果反馈", "Outcome reported back"),
                feedback.get("publishedAt"), (Line("", _text(feedback["text"])),))


Why = Mapping[tuple[Any, Any], str]  # (resourceType, id) → why the decision went without


def _reply_lines(item: Mapping[str, Any], spec: Spec, lang: Lang, why: Why) -> list[Line]:
    reply = item.get("reply")
    if not isinstance(reply, Mapping):
        due = day(item.get("replyDue"))
        lines = [Line(_t(lang, "答复", "Reply"), _t(lang, f"尚未答复（期限 {due}）",
                                                  f"Not yet answered (due {due})")
                      if due else _t(lang, "尚未答复", "Not yet answered"))]
        reason = why.get((item.get("resourceType"), item.get("id")))
        if reason:  # the decision recorded why it went ahead without this reply
            lines.append(Line(_t(lang, "决定时未答复的原因", "Why the decision went without it"),
                              reason))
        return lines
    lines = [Line(_t(lang, "答复结果", "Outcome"),
                  _code(spec, item, "reply/outcome", reply.get("outcome"), lang)),
             Line(_t(lang, "答复", "Reply"), _text(reply.get("text"))),
             Line(_t(lang, "理由", "Why"), _text(reply.get("reasons")))]
    if reply.get("at"):
        lines.append(Line(_t(lang, "答复时间", "Answered on"), day(reply["at"])))
    return lines


def _opinion(item: Mapping[str, Any], spec: Spec, lang: Lang, options: Mapping[Any, str],
             why: Why) -> Step:
    stance = _code(spec, item, "stance", item.get("stance"), lang)
    channel = _code(spec, item, "channel", item.get("channel"), lang)
    # The text only with its author's agreement, even should a caller pass it unredacted.
    text = _text(item.get("text")) if item.get("textPublic") is True else ""
    lines = [Line(_t(lang, "意见", "What was said"), text or _t(
        lang, "（作者未同意公开内容）", "(the author did not agree to publish the text)"))]
    if item.get("optionId") in options:
        lines.insert(0, Line(_t(lang, "针对方案", "On the option"), options[item["optionId"]]))
    return Step("opinion", _t(lang, f"{stance}（{channel}）", f"{stance} ({channel})"),
                item.get("receivedAt"), tuple(line for line in
                                              [*lines, *_reply_lines(item, spec, lang, why)]
                                              if line.text))


def _proposal(item: Mapping[str, Any], spec: Spec, lang: Lang, why: Why) -> Step:
    count = item.get("supportCount")
    lines = [Line(_t(lang, "提案", "What is proposed"), _text(item.get("text"))),
             Line(_t(lang, "渠道", "Channel"),
                  _code(spec, item, "channel", item.get("channel"), lang))]
    if isinstance(count, int):
        lines.append(Line(_t(lang, "联署人数", "Supporters"), str(count)))
    return Step("proposal", _text(item.get("title")) or _t(lang, "提案", "A proposal"),
                item.get("receivedAt"), tuple(line for line in
                                              [*lines, *_reply_lines(item, spec, lang, why)]
                                              if line.text))


def _unanswered(doc: Mapping[str, Any], spec: Spec, lang: Lang) -> Why:
    """The reasons the decision recorded for the replies it went without
    (/req/voice/unanswered-reasons), by the item they concern."""
    decision = doc.get("decision")
    entries = decision.get("unanswered") if isinstance(decision, Mapping) else None
    why: dict[tuple[Any, Any], str] = {}
    for entry in entries if isinstance(entries, list) else ():
        item = entry.get("item") if isinstance(entry, Mapping) else None
        if isinstance(item, Mapping):
            reason = _code(spec, doc, "decision/unanswered/reason", entry.get("reason"), lang)
            note = _text(entry.get("note"))
            why[(item.get("resourceType"), item.get("id"))] = (
                f"{reason}：{note}" if note and lang.startswith("zh")
                else f"{reason}: {note}" if note else reason)
    return why


def _voices(doc: Mapping[str, Any], spec: Spec, lang: Lang, now: datetime) -> Step | None:
    """Residents' opinions and proposals and the reply to each; nobody named."""
    voices = sorted(voices_of(doc), key=lambda v: (str(v.get("receivedAt") or ""),
                                                   str(v.get("id"))))
    opinions = [v for v in voices if "stance" in v]
    proposals = [v for v in voices if "stance" not in v]
    if not voices:
        return None
    answered = sum(1 for v in voices if isinstance(v.get("reply"), Mapping))
    summary = _t(lang, f"收到意见 {len(opinions)} 条、提案 {len(proposals)} 项，"
                       f"已答复 {answered} 条",
                 f"{len(opinions)} opinions and {len(proposals)} proposals received; "
                 f"{answered} answered")
    options = {o.get("id"): _text(o.get("title")) for o in doc.get("options") or ()}
    why = _unanswered(doc, spec, lang)
    items = ([_opinion(v, spec, lang, options, why) for v in opinions]
             + [_proposal(v, spec, lang, why) for v in proposals])
    return Step("voices", _t(lang, "居民意见与答复", "Residents' views and replies"),
                voices[0].get("receivedAt"), (Line("", summary),), tuple(items))


#: the steps of the procedure, in order; append a function to add a part of the record
STEPS: list[StepFn] = [_topic, _notice, _sessions, _votes, _voices, _decision,
                       _implementation, _feedback]


def public_view(doc: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The consultation (or opinion, or proposal) as a reader without an account receives it
    at ``now`` (default: the current time): redacted for the audience of privacy.json's
    ``anonymousRole``, the public, and its vote results withheld until due as a server
    withholds them from that role (/req/consultations/results-hidden)."""
    spec = load_spec(str(doc.get("specVersion") or DEFAULT_VERSION))
    role = str(spec.privacy["recordAccess"]["anonymousRole"])
    shown = redact(doc, audience_for_role(role, spec.version))
    rule = results_rule(spec.version)
    hide_results(shown, early=rule.withholds_from(role), now=now, rule=rule)
    return shown


def timeline(doc: Mapping[str, Any], lang: Lang = "zh-Hans", *, now: datetime | None = None,
             steps: Sequence[StepFn] | None = None,
             voices: Iterable[Mapping[str, Any]] | None = None) -> Timeline:
    """The timeline of a consultation already redacted for the public audience; ``voices``
    are the opinions and proposals on it, redacted the same way."""
    spec = load_spec(str(doc.get("specVersion") or DEFAULT_VERSION))
    if voices is not None:
        doc = WithVoices(doc, voices)
    moment = now or datetime.now(UTC)
    built = (fn(doc, spec, lang, moment) for fn in (STEPS if steps is None else steps))
    convener = doc.get("convener") or {}
    return Timeline(
        id=str(doc.get("id")), title=_text(doc.get("title")),
        description=_text(doc.get("description")),
        status=_code(spec, doc, "status", doc.get("status"), lang),
        community=str(doc.get("divisionCode") or ""), convener=_text(convener.get("name")),
        categories=tuple(_code(spec, doc, "categories", c, lang)
                         for c in doc.get("categories") or ()),
        steps=tuple(s for s in built if s is not None))

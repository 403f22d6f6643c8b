"""The five regulations as data: every term and rule with the clause of its seed beside it.

SPEC §4 is our reading of the seeds; where it and a seed disagreed, the seed won (see README).
All hour and minute terms are counted in working time of the organisation (SPEC §4); `in_seed`
keeps whether the seed itself says "рабочих", so a reader can check the wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

from bot.domain.incident import Importance, MultiMode, Role
from bot.domain.texts import Sentence


@dataclass(frozen=True)
class Term:
    """A regulation's time limit: working minutes, or working days (see worktime.add_working_days)."""

    minutes: int = 0
    days: int = 0
    clause: str = ""
    in_seed: str = ""  # the seed's own words, e.g. "30 минут рабочего времени"

    def __post_init__(self) -> None:
        if (self.minutes > 0) == (self.days > 0):
            raise ValueError("a term is either minutes or days, and positive")

    @property
    def duration(self) -> timedelta:
        """The term in working time, for a term in minutes (zero for one in days: use ``add_working_days``)."""
        return timedelta(minutes=self.minutes)

    def __str__(self) -> str:
        return format_term(self)


@dataclass(frozen=True)
class Cited:
    """A non-time rule (who publishes, how many approval levels…) with its clause."""

    value: Any
    clause: str = ""


@dataclass(frozen=True)
class Preset:
    """One regulation's parameters (SPEC §4), each term with its seed clause; None: the seed sets no such term."""

    name: str
    title: str
    document: str
    timezone: str
    answer_normal: Term
    answer_high: Term | None  # None: the seed sets no shorter term, the normal one applies
    final_after_intermediate: Term
    routing: Term | None = None
    not_ours: Term | None = None  # executor returns "not our competence"
    reroute: Term | None = None  # curator re-routes after such a return
    draft_before_normal: Term | None = None  # draft reaches the curator this long before the deadline
    draft_before_high: Term | None = None  # None: no draft mark for high importance
    clarification_question: Term | None = None  # executor asks a clarification after receipt
    approval: Term | None = None  # curator decides on a draft
    revision: Term | None = None  # executor revises a returned draft
    publication: Term | None = None  # approved text published
    contribution: Term | None = None  # each department's part of a joint answer
    # The seeds other than Боровичи are silent; a clock that runs while the author is silent
    # would make every clarification overdue, so the pause is the default everywhere.
    clarification_pauses_answer: Cited = Cited(True, "не установлено; по аналогии с Боровичи п. 10")
    publisher: Cited = Cited(Role.executor, "не установлено")
    approval_levels: Cited = Cited(1, "не установлено")
    multi_mode: Cited = Cited(MultiMode.single, "не установлено")
    monthly_report_to: Cited = Cited(None, "не установлено")  # Role or None
    monthly_report_day: Cited = Cited(None, "не установлено")  # day of the next month, or None
    report_high_to_head: Cited = Cited(False, "не установлено")
    report_surges_to_head: Cited = Cited(False, "не установлено")

    def answer_term(self, importance: Importance) -> Term:
        """The answer's term: ``answer_high`` for high importance where the seed sets one, else ``answer_normal``."""
        if importance is Importance.high and self.answer_high is not None:
            return self.answer_high
        return self.answer_normal

    def draft_before(self, importance: Importance) -> Term | None:
        """How long before the answer deadline the draft reaches the curator; None: no draft mark.

        A preset with one answer term for both importances (Ключи п. 6/7, Удмуртия пп. 10–11: ``answer_high``
        is None) gives high importance the whole normal plan, draft mark included. Only where the seed sets
        a separate high term does high importance take ``draft_before_high`` — Боровичи п. 12 (2 W-h), or
        none where the seed ties its draft mark to the normal term alone (Отрадная п. 12/17, Петровский п. 8/9).
        """
        if importance is Importance.high and self.answer_high is not None:
            return self.draft_before_high
        return self.draft_before_normal

    def with_overrides(self, overrides: dict[str, Any]) -> Preset:
        """A copy with some parameters replaced: durations as "30m", "8h", "2d" or "none".

        Each replaced value cites "config" as its clause. Raises KeyError for a key that is no parameter (or is
        ``name``, ``title``, ``document``); ValueError for a value the parameter cannot take (parse_term).
        """
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in known or key in ("name", "title", "document"):
                raise KeyError(key)
            current = getattr(self, key)
            if key == "timezone":
                changes[key] = str(raw)
            elif isinstance(current, Term) or known[key].type in ("Term", "Term | None"):
                changes[key] = parse_term(raw, clause="config")
            else:
                changes[key] = Cited(_coerce_cited(key, raw), "config")
        return replace(self, **changes)


_TERM_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.I)


def parse_term(raw: Any, clause: str = "") -> Term | None:
    """Parse "30m", "1h", "1h30m", "8h", "2d" (working time); "none" switches a term off.

    Returns None for "none", "", "-" or None. Raises ValueError for anything else that is no duration, a mix of
    days and hours, or zero.
    """
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("none", "", "-")):
        return None
    text = str(raw)
    match = _TERM_RE.match(text)
    if not match or not any(match.groups()):
        raise ValueError(Sentence("{text!r} is not a duration: write e.g. 30m, 1h, 1h30m, 8h or 2d", text=text))
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    if days and (hours or minutes):
        raise ValueError(Sentence("{text!r} mixes working days and hours: use one unit", text=text))
    if days:
        return Term(days=days, clause=clause, in_seed=text)
    if hours * 60 + minutes == 0:
        raise ValueError(Sentence("{text!r} is zero: use 'none' to switch a term off", text=text))
    return Term(minutes=hours * 60 + minutes, clause=clause, in_seed=text)


def _coerce_cited(key: str, raw: Any) -> Any:
    """The value of the parameter ``key`` that is no term; ValueError with a Sentence naming what it may be."""
    if key == "publisher":
        if str(raw) not in (Role.executor, Role.curator):
            raise ValueError(Sentence("publisher must be 'executor' or 'curator'"))
        return Role(str(raw))
    if key == "approval_levels":
        if raw not in (1, 2):
            raise ValueError(Sentence("approval_levels must be 1 or 2"))
        return int(raw)
    if key == "multi_mode":
        return MultiMode(_choice(raw, MultiMode))
    if key == "monthly_report_to":
        return None if raw in (None, "none") else Role(_choice(raw, Role))
    if key == "monthly_report_day":
        if raw in (None, "none"):
            return None
        if not isinstance(raw, int) or not 1 <= raw <= 28:
            raise ValueError(Sentence("monthly_report_day must be a day 1..28 or 'none'"))
        return raw
    if isinstance(raw, bool):
        return raw
    raise ValueError(Sentence("expected true or false, got {value!r}", value=raw))


def _choice(raw: Any, kind: type[MultiMode] | type[Role]) -> str:
    """``raw`` when it is a value of the enum ``kind``; else ValueError with a Sentence listing the values."""
    values = [member.value for member in kind]
    if str(raw) not in values:
        raise ValueError(Sentence("{value!r} is not one of {values}", value=raw, values=", ".join(values)))
    return str(raw)


def format_term(term: Term | None) -> str:
    """A term as the config writes it: "2d", "8h", "1h30m", "30m"; "—" for None (the seed sets none)."""
    if term is None:
        return "—"
    if term.days:
        return f"{term.days}d"
    hours, minutes = divmod(term.minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")


def _m(minutes: int, clause: str, words: str) -> Term:
    return Term(minutes=minutes, clause=clause, in_seed=words)


def _d(days: int, clause: str, words: str) -> Term:
    return Term(days=days, clause=clause, in_seed=words)


KLUCHI = Preset(
    name="kluchi",
    title="Ключевский район Алтайского края",
    document="Постановление Администрации Ключевского района от 25.01.2021 № 36",
    timezone="Asia/Barnaul",
    answer_normal=_m(9 * 60, "п. 6", "не позднее 9 рабочих часов с момента выявления"),
    answer_high=None,
    # п. 7 refers to "пункт 4" for the deadline; п. 4 sets none — the 9 hours of п. 6 are meant.
    draft_before_normal=_m(4 * 60, "п. 7", "не позднее, чем за 4 часа до истечения срока"),
    revision=_m(60, "п. 8", "в течение 1 часа дорабатывает"),
    final_after_intermediate=_d(7, "п. 9", "не более 7 рабочих дней со дня направления"),
    # The seed does not say who posts; Приложение 2 lists "исполнителей, предоставляющих ответы".
    publisher=Cited(Role.executor, "п. 6, прил. 2 (прямо не указано)"),
    approval_levels=Cited(1, "пп. 7, 8"),
)

OTRADNAYA = Preset(
    name="otradnaya",
    title="Отрадненский район Краснодарского края",
    document="Постановление администрации МО Отрадненский район от 06.09.2021 № 547",
    timezone="Europe/Moscow",
    routing=_m(30, "п. 10", "в течение 30 минут рабочего времени"),
    not_ours=_m(30, "п. 11", "в течение 30 минут рабочего времени с момента поступления"),
    reroute=_m(30, "п. 11", "в течение 30 минут рабочего времени с момента получения"),
    answer_normal=_m(8 * 60, "п. 9", "не позднее 8 рабочих часов с момента его выявления"),
    answer_high=_m(4 * 60, "п. 17", "не позднее 4 рабочих часов с момента его выявления"),
    draft_before_normal=_m(3 * 60, "п. 12", "не позднее чем за 3 часа рабочего времени"),
    clarification_question=_m(60, "п. 13", "в течение 1 часа рабочего времени после поступления"),
    approval=_m(30, "п. 14", "в течение 30 минут рабочего времени"),
    revision=_m(60, "п. 15", "в течение 1 часа рабочего времени"),
    publication=_m(30, "п. 16", "в течение 30 минут рабочего времени с момента согласования"),
    final_after_intermediate=_d(7, "п. 18", "не более 7 рабочих дней"),
    contribution=_m(2 * 60, "п. 19", "не более 2 часов рабочего времени"),
    publisher=Cited(Role.executor, "п. 16"),
    approval_levels=Cited(1, "п. 14"),
    multi_mode=Cited(MultiMode.joint_parallel, "п. 19"),
    monthly_report_to=Cited(Role.head, "п. 23 (первому заместителю главы)"),
    monthly_report_day=Cited(10, "п. 23"),
    report_high_to_head=Cited(True, "п. 24"),
)

BOROVICHI = Preset(
    name="borovichi",
    title="Боровичский муниципальный район Новгородской области",
    document="Распоряжение Администрации Боровичского муниципального района от 11.03.2020 № 34-рг",
    timezone="Europe/Moscow",
    routing=_m(30, "п. 7", "в течение 30 рабочих минут с момента выявления"),
    answer_normal=_m(8 * 60, "п. 8", "не позднее 8 рабочих часов с момента выявления"),
    answer_high=_m(4 * 60, "п. 9", "до 4 рабочих часов"),
    draft_before_normal=_m(4 * 60, "п. 11", "не позднее, чем за 4 рабочих часа"),
    draft_before_high=_m(2 * 60, "п. 12", "не позднее, чем за 2 рабочих часа"),
    approval=_m(30, "п. 13", "в течение 30 рабочих минут"),
    revision=_m(60, "п. 14", "в течение одного рабочего часа"),
    publication=_m(30, "п. 15", "в течение 30 рабочих минут с момента согласования"),
    final_after_intermediate=_d(7, "п. 16", "не более 7 рабочих дней"),
    publisher=Cited(Role.curator, "п. 15"),
    approval_levels=Cited(1, "пп. 5, 13"),
    multi_mode=Cited(MultiMode.split, "п. 17"),
    clarification_pauses_answer=Cited(True, "п. 10"),
    monthly_report_to=Cited(Role.head, "п. 22 (Главе муниципального района)"),
)

PETROVSKY = Preset(
    name="petrovsky",
    title="Петровский городской округ Ставропольского края",
    document="Постановление администрации Петровского городского округа от 14.03.2023 № 323",
    timezone="Europe/Moscow",
    routing=_m(60, "п. 5", "в течение 1 часа с момента выявления"),
    not_ours=_m(30, "п. 6", "в течение 30 минут с момента получения"),
    answer_normal=_m(8 * 60, "п. 7", "не позднее 8 рабочих часов с момента получения (выявления)"),
    answer_high=_m(4 * 60, "п. 8", "до 4 рабочих часов"),
    draft_before_normal=_m(5 * 60, "п. 9", "не позднее 5 рабочих часов до истечения срока"),
    publication=_m(30, "п. 11", "в течение 30 минут после согласования"),
    final_after_intermediate=_d(7, "п. 12", "не превышающий 7 рабочих дней со дня размещения"),
    publisher=Cited(Role.curator, "пп. 7, 11"),
    approval_levels=Cited(2, "п. 10 (ЦУР Ставропольского края)"),
)

UDMURTIA = Preset(
    name="udmurtia",
    title="Удмуртская Республика",
    document="Указ Главы Удмуртской Республики от 09.04.2020 № 83",
    timezone="Europe/Samara",
    routing=_m(60, "п. 8", "в течение 1 часа с момента выявления"),
    not_ours=_m(30, "п. 9", "в течение 30 минут"),
    answer_normal=_d(2, "п. 10", "не позднее 2 рабочих дней с момента выявления"),
    answer_high=None,
    draft_before_normal=_m(4 * 60, "п. 11", "не позднее, чем за 4 часа до истечения срока"),
    approval=_m(60, "п. 12", "в течение 1 часа с момента поступления"),
    revision=_m(2 * 60, "п. 13", "в течение 2 часов"),
    publication=_m(60, "п. 14", "в течение 1 часа с момента согласования"),
    final_after_intermediate=_d(7, "п. 15", "не более 7 рабочих дней"),
    contribution=_m(3 * 60, "п. 16", "не более 3 часов с момента поступления"),
    publisher=Cited(Role.executor, "п. 14"),
    approval_levels=Cited(1, "п. 12"),
    multi_mode=Cited(MultiMode.joint_sequential, "п. 16"),
    monthly_report_to=Cited(Role.head, "п. 21 (Руководителю Администрации)"),
    report_high_to_head=Cited(True, "п. 22"),
    report_surges_to_head=Cited(True, "п. 22"),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (KLUCHI, OTRADNAYA, BOROVICHI, PETROVSKY, UDMURTIA)}


def get_preset(name: str) -> Preset:
    """The preset of that name (SPEC's table: kluchi, otradnaya, borovichi, petrovsky, udmurtia). Raises KeyError
    naming the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None

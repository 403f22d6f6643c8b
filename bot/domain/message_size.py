"""Telegram's size limits on what the bot sends, and fitting a message into them by priorities.

Telegram refuses a text over 4096 characters ("message is too long"), a caption over 1024 and a
callback answer over 200 (Bot API: sendMessage, sendPhoto, answerCallbackQuery). The documentation
says "characters" and counts entity offsets in UTF-16 code units; reports differ on whether an emoji
outside the Basic Multilingual Plane counts as one character or two. Every length here is measured
in UTF-16 code units (`units`): a text within 4096 of them is within 4096 under either reading, and
ordinary Cyrillic or Latin text loses nothing (one unit per character). The bot sends plain text
(no parse mode), so "after entity parsing" changes nothing.

A message is laid out as lines (`fit`). A line is fixed text and `Elastic` parts; `Items` is a list
of lines whose tail may be folded into one closing line ("… and 12 more"). Fixed text always stays
whole: it is what must never be lost (a card's status, deadlines, the draft under decision). Elastic
parts share what is left by weighted max-min fairness: short parts stay whole, long parts are cut
to an equal (weighted) share at a word boundary with "…", never below their floor while the floors
fit. The caller learns whether anything was shortened, to offer the whole text another way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

TEXT_LIMIT = 4096  # sendMessage / editMessageText `text`, 1-4096 characters after entity parsing
CAPTION_LIMIT = 1024  # sendPhoto / sendVideo / sendDocument / InputMedia `caption`, 0-1024 characters
ALERT_LIMIT = 200  # answerCallbackQuery `text`, 0-200 characters
CALLBACK_DATA_LIMIT = 64  # InlineKeyboardButton `callback_data`, 1-64 bytes
# Telegram documents no limit on a button's text, but clients show one line and hide the rest;
# a name from the config or a person's profile is cut here so the button still says what it does.
BUTTON_TEXT_LIMIT = 64
NAME_LIMIT = 100  # a department, topic, location or person's name inside a longer text
ELLIPSIS = "…"


def units(text: str) -> int:
    """The length of `text` as Telegram limits it: UTF-16 code units (an astral character is two)."""
    return len(text.encode("utf-16-le")) // 2


def prefix(text: str, limit: int) -> str:
    """The longest beginning of `text` of at most `limit` UTF-16 units; never splits a character."""
    if limit <= 0:
        return ""
    if len(text) <= limit // 2 or units(text) <= limit:
        return text
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return text[:index]
    return text  # pragma: no cover - units(text) > limit guarantees the loop returns


def cut(text: str, limit: int) -> str:
    """`text` whole when it fits `limit` units; else its beginning, ended at a word boundary when one is
    near (the last fifth), plus "…". The result never exceeds `limit`; a limit under 1 gives ""."""
    if units(text) <= limit:
        return text
    if limit < 1:
        return ""
    head = prefix(text, limit - 1)
    boundary = max(head.rfind(" "), head.rfind("\n"))
    if boundary >= len(head) * 4 // 5:
        head = head[:boundary]
    return head.rstrip() + ELLIPSIS


def button_text(text: str | Line) -> str:
    """A button's text within BUTTON_TEXT_LIMIT units (see there): a string is cut at the end; a line
    (`template`) shortens only its Elastic parts, so "❌ Cancel: {name}, 01.12–05.12" keeps its dates."""
    if isinstance(text, str):
        return cut(text, BUTTON_TEXT_LIMIT)
    return fit([text], BUTTON_TEXT_LIMIT).text


def short_name(text: str) -> str:
    """A name from the config or a profile, cut to NAME_LIMIT units for use inside a sentence."""
    return cut(text, NAME_LIMIT)


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` as consecutive pieces of at most `limit` units each, cut at a paragraph, line or word
    boundary in the second half of a piece when there is one; blank pieces are left out ([""] for
    an empty text)."""
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        head = prefix(rest, limit)
        breaks = (head.rfind("\n\n"), head.rfind("\n"), head.rfind(" "))
        at = max(next((b for b in breaks if b > len(head) // 2), len(head)), 1)  # always move on
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip()
    pieces.append(rest)
    return [p for p in pieces if p.strip()] or [""]


def join_within(items: Sequence[str], limit: int, more: Callable[[int], str], separator: str = ", ") -> str:
    """As many of `items` (in order) as fit `limit` units joined by `separator`, then `more(n)` for the
    n left out (e.g. " (+12)"); the whole list when it fits."""
    whole = separator.join(items)
    if units(whole) <= limit:
        return whole
    for kept in range(len(items) - 1, -1, -1):
        text = separator.join(items[:kept]) + more(len(items) - kept)
        if units(text) <= limit:
            return text
    return cut(more(len(items)), limit)


@dataclass(frozen=True)
class Elastic:
    """A part of a line that may be shortened: down to `floor` units while the floors of all parts fit
    (below only when nothing else is left); `weight` is its share of the space against other parts."""

    text: str
    floor: int = 60
    weight: float = 1.0


Part = str | Elastic
Line = tuple[Part, ...]


@dataclass(frozen=True)
class Items:
    """Lines shown in order; when even their floors do not fit, the last ones are folded into the line
    `more(n)` (n: how many are not shown). The whole list is one elastic unit of the message."""

    lines: Sequence[Line]
    more: Callable[[int], str]
    weight: float = 1.0


Block = Line | Items


def line(*parts: Part) -> Line:
    """A line from fixed strings and Elastic parts, empty strings left out."""
    return tuple(p for p in parts if not (isinstance(p, str) and not p))


def template(text: str, **values: Part | Line) -> Line:
    """A line from a translated template with `{name}` placeholders: Elastic values stay elastic, a Line
    value is spliced in part by part, strings are fixed. E.g.
    ``template(_("Author: {author}"), author=Elastic(author, 40))``."""
    used = text + "".join(_joined(v) if isinstance(v, tuple) else _joined((v,)) for v in values.values())
    marks: dict[str, Line] = {}
    formatted: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            formatted[key] = value
            continue
        mark = f"\ue000{len(marks)}\ue001"
        while mark in used:  # never mistake a user's text for a placeholder
            mark = "\ue000" + mark
        marks[mark] = value if isinstance(value, tuple) else (value,)
        formatted[key] = mark
    result = text.format(**formatted)
    if not marks:
        return line(result)
    pattern = "(" + "|".join(re.escape(m) for m in sorted(marks, key=len, reverse=True)) + ")"
    parts: list[Part] = []
    for piece in re.split(pattern, result):
        parts.extend(marks.get(piece, (piece,)))
    return line(*parts)


@dataclass(frozen=True)
class Fitted:
    """A laid-out message: `text` within the limit; `shortened` when any part is not shown whole."""

    text: str
    shortened: bool


def whole(blocks: Iterable[Block]) -> str:
    """Every block in full, whatever its length (to be sent in parts with `split`)."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Items):
            lines.extend(_joined(item) for item in block.lines)
        else:
            lines.append(_joined(block))
    return "\n".join(lines)


def fit(blocks: Iterable[Block], limit: int = TEXT_LIMIT) -> Fitted:
    """Lay the blocks out as lines within `limit` units (see the module's docstring).

    Fixed text beyond the limit on its own is the caller's mistake: the result is then cut at the
    end as a last resort (and reported as shortened) rather than refused by Telegram.
    """
    present = [b for b in blocks if not (isinstance(b, Items) and not b.lines)]
    units_: list[_Unit] = []
    fixed = max(len(present) - 1, 0)  # the line breaks between blocks
    for block in present:
        if isinstance(block, Items):
            units_.append(_ItemsUnit(block))
            continue
        for part in block:
            if isinstance(part, Elastic):
                units_.append(_ElasticUnit(part))
            else:
                fixed += units(part)
    allowances = _share([u.full for u in units_], [u.least for u in units_], [u.weight for u in units_], limit - fixed)
    rendered = iter([u.render(a) for u, a in zip(units_, allowances, strict=True)])
    shortened = False
    lines: list[str] = []
    for block in present:
        if isinstance(block, Items):
            text, short = next(rendered)
            shortened |= short
            lines.append(text)
            continue
        pieces = []
        for part in block:
            if isinstance(part, Elastic):
                text, short = next(rendered)
                shortened |= short
                pieces.append(text)
            else:
                pieces.append(part)
        lines.append("".join(pieces))
    text = "\n".join(lines)
    if units(text) > limit:
        return Fitted(cut(text, limit), True)
    return Fitted(text, shortened)


def least_units(blocks: Iterable[Block]) -> int:
    """The smallest size `fit` can give the blocks without going below any floor: fixed text, line
    breaks, every Elastic part at its floor, every Items folded to its closing line."""
    present = [b for b in blocks if not (isinstance(b, Items) and not b.lines)]
    total = max(len(present) - 1, 0)
    for block in present:
        if isinstance(block, Items):
            total += _ItemsUnit(block).least
        else:
            total += sum(_ElasticUnit(p).least if isinstance(p, Elastic) else units(p) for p in block)
    return total


# --- the allocation ------------------------------------------------------------------------------------


def _joined(parts: Line) -> str:
    return "".join(p.text if isinstance(p, Elastic) else p for p in parts)


class _Unit:
    full: int
    least: int
    weight: float

    def render(self, allowance: int) -> tuple[str, bool]:
        raise NotImplementedError


class _ElasticUnit(_Unit):
    def __init__(self, part: Elastic) -> None:
        self.part = part
        self.full = units(part.text)
        self.least = min(self.full, max(part.floor, 0))
        self.weight = max(part.weight, 1e-6)

    def render(self, allowance: int) -> tuple[str, bool]:
        if allowance >= self.full:
            return self.part.text, False
        return cut(self.part.text, allowance), True


class _ItemsUnit(_Unit):
    def __init__(self, items: Items) -> None:
        self.items = items
        self.lines = list(items.lines)
        self.full = units(whole([items]))
        self.least = min(self.full, units(items.more(len(self.lines))))
        self.weight = max(items.weight, 1e-6)

    def _least(self, block: Line) -> int:
        return sum(min(units(p.text), max(p.floor, 0)) if isinstance(p, Elastic) else units(p) for p in block)

    def render(self, allowance: int) -> tuple[str, bool]:
        if allowance >= self.full:
            return whole([self.items]), False
        count = len(self.lines)
        least = [self._least(b) for b in self.lines]
        if sum(least) + count - 1 <= allowance:  # every line fits at its floor: shorten, fold nothing
            return fit(self.lines, allowance).text, True
        # Keep the first `kept` lines at their floors and fold the rest into `more`, as many as fit.
        kept = 0
        for candidate in range(count - 1, -1, -1):
            closing = units(self.items.more(count - candidate))
            if sum(least[:candidate]) + candidate + closing <= allowance:
                kept = candidate
                break
        blocks: list[Block] = [*self.lines[:kept], line(self.items.more(count - kept))]
        return fit(blocks, allowance).text, True


def _share(full: Sequence[int], least: Sequence[int], weights: Sequence[float], budget: int) -> list[int]:
    """How many units each elastic unit gets: its least first, then the rest by weighted water-filling
    (the largest level L with sum(min(full_i - least_i, L * w_i)) within the budget). When even the
    floors do not fit, the floors are dropped and everything is water-filled from zero."""
    if sum(full) <= budget:
        return list(full)
    base = list(least)
    if sum(base) > budget:
        base = [0] * len(full)
    rest = max(budget - sum(base), 0)
    demand = [f - b for f, b in zip(full, base, strict=True)]
    level = _level(demand, weights, rest)
    if math.isinf(level):
        return [b + d for b, d in zip(base, demand, strict=True)]
    return [b + min(d, math.floor(level * w)) for b, d, w in zip(base, demand, weights, strict=True)]


def _level(demand: Sequence[int], weights: Sequence[float], budget: int) -> float:
    order = sorted(range(len(demand)), key=lambda i: demand[i] / weights[i])
    left, weight = float(budget), sum(weights)
    for i in order:
        if weight <= 0:
            break
        if demand[i] / weights[i] * weight <= left:
            left -= demand[i]
            weight -= weights[i]
        else:
            return left / weight
    return math.inf


__all__ = [
    "ALERT_LIMIT",
    "BUTTON_TEXT_LIMIT",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "ELLIPSIS",
    "NAME_LIMIT",
    "TEXT_LIMIT",
    "Block",
    "Elastic",
    "Fitted",
    "Items",
    "Line",
    "button_text",
    "cut",
    "fit",
    "join_within",
    "least_units",
    "line",
    "prefix",
    "short_name",
    "split",
    "template",
    "units",
    "whole",
]

"""Fitting texts into Telegram's limits: lengths in UTF-16 units, cuts, splits and the priority layout."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.message_size import (
    BUTTON_TEXT_LIMIT,
    ELLIPSIS,
    TEXT_LIMIT,
    Elastic,
    Items,
    button_text,
    cut,
    fit,
    join_within,
    least_units,
    line,
    split,
    template,
    units,
    whole,
)

# Cyrillic, Latin, spaces, line breaks and astral emoji (two UTF-16 units each): what people send.
ALPHABET = st.sampled_from([*list("абвгдеёжзий ABCxyz019.,!?\n"), "😀", "🏠", "𝔸"])


def texts(max_chunks: int = 60) -> st.SearchStrategy[str]:
    """Texts from empty to tens of thousands of units: a random chunk repeated (fast to generate)."""
    return st.builds(lambda chunk, times: chunk * times, st.text(ALPHABET, max_size=60), st.integers(0, max_chunks))


def test_an_astral_emoji_counts_as_two_units_and_cyrillic_as_one() -> None:
    assert units("😀") == 2 and units("я") == 1 and units("Яма 😀") == 6
    assert len(cut("😀" * 3000, TEXT_LIMIT)) < 2049 and units(cut("😀" * 3000, TEXT_LIMIT)) <= TEXT_LIMIT


def test_cut_keeps_whole_words_and_says_it_cut() -> None:
    text = "Контейнеры вывезены сегодня в четырнадцать часов"
    assert cut(text, 100) == text
    assert cut(text, 30) == "Контейнеры вывезены сегодня…"
    assert cut("😀😀😀", 4) == "😀…"  # never half of a surrogate pair


@given(texts(), st.integers(0, 5000))
@settings(max_examples=200, deadline=None)
def test_cut_never_exceeds_the_limit_and_keeps_what_fits(text: str, limit: int) -> None:
    result = cut(text, limit)
    assert units(result) <= limit
    if units(text) <= limit:
        assert result == text
    elif limit >= 1:
        assert result.endswith(ELLIPSIS) and text.startswith(result.removesuffix(ELLIPSIS))


@given(texts(400), st.integers(2, 5000))
@settings(max_examples=150, deadline=None)
def test_split_gives_pieces_within_the_limit_and_loses_nothing_but_spaces_at_the_cuts(text: str, limit: int) -> None:
    pieces = split(text, limit)
    assert all(units(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_button_text_shortens_the_name_and_keeps_the_dates() -> None:
    label = template("❌ Cancel: {name}, {first}–{last}", name=Elastic("Очень " * 40, 8), first="01.12", last="05.12")
    text = button_text(label)
    assert units(text) <= BUTTON_TEXT_LIMIT and text.startswith("❌ Cancel: Очень") and text.endswith(", 01.12–05.12")


def test_template_keeps_a_users_text_that_looks_like_a_placeholder() -> None:
    trap = "\ue0000\ue001 {name}"
    assert whole([template("Author: {author} ({n})", author=Elastic(trap), n="1")]) == f"Author: {trap} (1)"


def test_short_parts_stay_whole_and_long_parts_share_the_rest_equally() -> None:
    blocks = [line("Header"), line(Elastic("short", 10)), line(Elastic("a" * 3000, 10)), line(Elastic("b" * 3000, 10))]
    fitted = fit(blocks, 1000)
    lines = fitted.text.split("\n")
    assert fitted.shortened and lines[:2] == ["Header", "short"]
    assert abs(len(lines[2]) - len(lines[3])) <= 1 and units(fitted.text) <= 1000


def test_a_list_folds_its_tail_when_even_its_floors_do_not_fit() -> None:
    items = Items([line(f"{n}: ", Elastic("x" * 300, 40)) for n in range(100)], lambda n: f"… and {n} more")
    fitted = fit([line("Fixed essential"), items], 1000)
    assert fitted.text.startswith("Fixed essential\n0: x") and units(fitted.text) <= 1000
    shown = fitted.text.count("\n") - 1
    assert fitted.text.endswith(f"… and {100 - shown} more")


BLOCKS = st.lists(
    st.one_of(
        st.builds(lambda t: line(t), st.text(ALPHABET, max_size=80)),
        st.builds(
            lambda a, t, f, w: line(a, Elastic(t, f, w)),
            st.text(ALPHABET, max_size=20),
            texts(),
            st.integers(0, 300),
            st.floats(0.5, 5),
        ),
        st.builds(
            lambda ts: Items([line("• ", Elastic(t, 40)) for t in ts], lambda n: f"… +{n}"),
            st.lists(texts(10), max_size=30),
        ),
    ),
    max_size=25,
)


@given(BLOCKS, st.integers(200, TEXT_LIMIT))
@settings(max_examples=200, deadline=None)
def test_any_layout_fits_and_fixed_lines_stay_whole_while_the_floors_fit(blocks: list, limit: int) -> None:
    fitted = fit(blocks, limit)
    assert units(fitted.text) <= limit
    assert fitted.shortened == (fitted.text != whole(blocks))
    if least_units(blocks) <= limit:
        lines = fitted.text.split("\n")
        for block in blocks:
            if isinstance(block, tuple) and all(isinstance(p, str) for p in block) and "\n" not in "".join(block):
                assert "".join(block) in lines


@given(st.lists(st.integers(1, 10**9), max_size=1000), st.integers(20, 2000))
@settings(max_examples=100, deadline=None)
def test_join_within_shows_the_first_numbers_and_counts_the_rest(numbers: list[int], limit: int) -> None:
    items = [f"№ {n}" for n in numbers]
    text = join_within(items, limit, lambda k: f" (+{k})")
    assert units(text) <= limit
    shown = [p for p in text.split(" (+")[0].split(", ") if p]
    assert shown == items[: len(shown)]
    if len(shown) < len(items):
        assert text.endswith(f" (+{len(items) - len(shown)})")

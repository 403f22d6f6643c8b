"""Screening of posts not to be answered (bot.domain.screening): obscenity, insults, threats.

The obscene words are assembled at run time from harmless parts (``_w``), so this file stays
clean to read; every example is our own.
"""

from __future__ import annotations

import pytest

from bot.domain.screening import Flag, Kind, is_obscene, normalise, screen_post


def _w(*parts: str) -> str:
    """Glue parts into a word (keeps the obscene words out of this file's text)."""
    return "".join(parts)


# Roots, each split so that no obscene word appears literally.
R1 = _w("х", "уй")
R1_ADJ = _w("х", "уёвый")
R2 = _w("пи", "зда")
R3_VERB = _w("за", "е", "бали")
R3_NOUN = _w("у", "ё", "бок")
R4 = _w("бл", "ядь")
R4_SPELT = _w("бл", "ять")


def kinds(text: str) -> dict[str, tuple[str, ...]]:
    return {f.kind.value: f.words for f in screen_post(text)}


@pytest.mark.parametrize(
    "word",
    [R1, R1_ADJ, R2, R3_VERB, R3_NOUN, R4, R4_SPELT, _w("на", R1), _w("по", R1), _w("долбо", "ёб")],
)
def test_obscene_roots_and_their_derivatives(word):
    assert is_obscene(word)
    assert kinds(f"Опять во дворе {word}, сколько можно") == {"obscenity": (word,)}


@pytest.mark.parametrize(
    "disguised",
    [
        _w("х", "*", "й"),  # a masked vowel
        _w("п", "#", "зда"),
        _w("бл", "@", "ть"),  # «@» read as «а»
        _w("x", "y", "й"),  # Latin look-alikes inside a Cyrillic word
        _w("е", "б", "a", "ть"),
        _w("х", "у", "у", "у", "й"),  # repeated letters
        _w("Б", "Л", "Я", "Т", "Ь"),  # capitals
        _w("na", "hui"),  # transliterated
        _w("bl", "yat"),
    ],
)
def test_common_disguises_are_seen_through(disguised):
    assert kinds(f"Да {disguised} вам, а не ремонт") == {"obscenity": (disguised,)}


def test_letters_spaced_or_dotted_out():
    spaced = " ".join(R1.upper())
    dotted = ".".join(R1)
    assert kinds(f"{spaced} вам, а не ремонт")["obscenity"] == (spaced,)
    assert kinds(f"{dotted} вам, а не ремонт")["obscenity"] == (dotted,)


@pytest.mark.parametrize(
    "text",
    [
        "Заберите себе ваши обещания, небо серое, а вы страхуйтесь.",
        "Мудрый совет: купите мандарины, хулиганы похудели, уха из ухи.",
        "Не оскорбляйте людей, на корабле употребляют рыбу; пряжка-бляха потерялась.",
        "Застрахуйте машину, не психуйте, похуже бывает. Хуан приехал на хутор.",
        "Мандат депутата, доха и дохи, выхухоль, ухудшение.",
    ],
)
def test_innocent_words_sharing_letters_with_roots(text):
    assert screen_post(text) == []


def test_normalise_reads_look_alikes_and_collapses_repeats():
    assert normalise("XOPOШO") == "хорошо"
    assert normalise("ПрИИИвет") == "привет"
    assert normalise("privet") == "привет"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Вы там все идиоты и бездельники!", "идиоты"),
        ("Сидят там дармоеды, ничего не делают", "дармоеды"),
        ("Чиновники — сволочи, опять яму не заделали", "сволочи"),
        ("Вы козлы!", "козлы"),
        ("Уберите этих тупых чиновников", "тупых"),
    ],
)
def test_insults(text, word):
    assert word in kinds(text).get("insult", ())


@pytest.mark.parametrize(
    "text",
    [
        "У соседей во дворе живёт козёл, бодает детей.",
        "На ферме свиньи и бараны, запах на всю улицу.",
        "Вчера у меня украли велосипед, вор убежал.",
    ],
)
def test_animal_and_ordinary_words_are_insults_only_said_of_people(text):
    assert "insult" not in kinds(text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Если не почините, я вам эту администрацию сожгу", "сожгу"),
        ("Надо их всех перестрелять", "перестрелять"),
        ("Взорвать бы ваше здание", "Взорвать"),
        ("Вы пожалеете, что не убрали снег", "Вы пожалеете"),
        ("Ещё раз отключите свет — мало не покажется", "мало не покажется"),
        ("Найду вас и набью морду", "набью морду"),
    ],
)
def test_threats(text, word):
    assert any(word.lower() in w.lower() for w in kinds(text).get("threat", ())), kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "Собака чуть не убила ребёнка у школы!",
        "Сосулька может убить человека, уберите её.",
        "Сосед сжёг листья, дым в окна.",
        "Мы не собираемся никого убивать, просто уберите мусор.",
    ],
)
def test_reports_of_violence_are_not_threats(text):
    assert "threat" not in kinds(text)


def test_a_clean_complaint_has_no_flags_and_flags_come_in_order():
    assert screen_post("Когда уберут мусор на Садовой 3? Третий день стоит.") == []
    assert screen_post("") == []
    flags = screen_post(f"{R4}, вы там все идиоты, я вам всё сожгу!")
    assert [f.kind for f in flags] == [Kind.obscenity, Kind.insult, Kind.threat]
    assert all(isinstance(f, Flag) and f.words for f in flags)

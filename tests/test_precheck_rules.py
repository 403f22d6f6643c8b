"""The draft pre-check's rules widened after the held-out set showed where officials' writing escaped them.

Each test holds one widened rule to the answer-quality README's wording, on our own examples (not the
labelled sets' texts), with the case on the other side of the rule that must not change.
"""

from __future__ import annotations

import pytest

from bot.domain.precheck import check_draft, warm_up


@pytest.fixture(scope="module", autouse=True)
def _loaded():
    warm_up()


def found(post: str, draft: str, attachments: int = 0) -> dict[str, tuple[str, ...]]:
    """The reasons found in ``draft`` answering ``post``, with their words."""
    return {f.reason.value: f.words for f in check_draft(post, draft, attachments)}


# --- no_date: "does not apply … to an answer to a how/why/where question" ------------------------------------


REFUSAL = "Здравствуйте! Площадка у библиотеки относится к охранной зоне теплотрассы, ярмарку там проводить нельзя."


def test_a_bare_why_asks_about_the_sentence_before_it():
    # «Почему?» alone asks about the past event told just before: an answer explains it, no term needed.
    asked = "Подал заявку на ярмарку у библиотеки, мне не разрешили. Почему?"
    assert "no_date" not in found(asked, REFUSAL)
    # «Почему?» after a complaint about what is still not done asks for action: a term is needed.
    complaint = "Фонари во дворе не горят уже месяц. Почему?"
    assert "no_date" in found(complaint, "Здравствуйте! Фонари во дворе починят в ближайшее время.")


def test_a_prepositional_phrase_may_stand_between_the_question_word_and_its_verb():
    draft = "Здравствуйте! Скамейки убрали, потому что по ночам у пруда собирались шумные компании."
    assert "no_date" not in found("Почему у пруда в парке убрали скамейки?", draft, attachments=1)
    assert "no_date" not in found("Почему убрали скамейки у пруда?", draft, attachments=1)
    # The same phrase before a negated verb asks for something to be done.
    assert "no_date" in found("Почему у пруда в парке до сих пор не поставили скамейки?", "Здравствуйте! Поставим.")


# --- redirect: "telling the author where to get what they asked for" is none ----------------------------------


def test_where_to_call_answered_with_a_number_is_no_redirect():
    draft = "Здравствуйте! Ночью звоните в аварийную службу водоканала по телефону 2-11-40, там дежурят круглосуточно."
    assert "redirect" not in found("Куда звонить, если ночью затопило подвал?", draft)
    # A complaint answered only with «звоните» is still a redirect.
    assert "redirect" in found("Ночью затопило подвал, никто не приехал!", draft)


# --- no_evidence: "planned work, inspections … need no evidence"; a restated complaint is no work --------------

SNOW = "Во дворе по Садовой 12 не убирают снег, не пройти."


@pytest.mark.parametrize(
    ("post", "draft", "work"),
    [
        # A state the post complains of, restated with its date, is no work done…
        (
            "Спортзал школы закрыт уже месяц, дети занимаются в коридоре. Когда откроют?",
            "Здравствуйте! Спортзал закрыт с 1 ноября: в нём меняют пол, открыть его рассчитываем к 20 декабря.",
            False,
        ),
        # …but what the post says is NOT done, reported done, still needs a photo.
        ("Яму у остановки так и не заделали, хотя обещали.", "Здравствуйте! Яму у остановки заделали 3 декабря.", True),
        # A decision restated to answer a why-question (another verb than the post's) is no work done…
        (
            "Почему возле рынка запретили парковаться?",
            "Здравствуйте! Парковку закрыли, потому что под ней проходит теплотрасса и асфальт просел.",
            False,
        ),
        # …without the why-question, the same verb reports work done on a complaint.
        (
            "Возле рынка опасная яма на парковке.",
            "Здравствуйте! Парковку закрыли, потому что под ней проходит теплотрасса и асфальт просел.",
            True,
        ),
        # Set phrases with work verbs: a queue, a rule set by an act.
        (SNOW, "Здравствуйте! Двор по Садовой 12 поставили в первую очередь, трактор приедет до 10:00 завтра.", False),
        (SNOW, "Здравствуйте! Такой порядок установлен постановлением: дворы чистят после дорог, до 12:00.", False),
        # A thing installed is work: a photo is needed.
        (SNOW, "Здравствуйте! Во дворе установили новые урны и расчистили проход.", True),
    ],
)
def test_what_counts_as_work_done(post: str, draft: str, work: bool):
    assert ("no_evidence" in found(post, draft)) is work


# --- no_date: "a past incident once the measures taken are reported" -------------------------------------------


def test_a_fine_written_out_closes_a_past_incident():
    post = "Водитель автобуса № 5 нагрубил пенсионерке и высадил её."
    draft = "Здравствуйте! Перевозчик проверил запись камеры: водителю выписан штраф."
    assert "no_date" not in found(post, draft)
    assert "no_date" in found(post, "Здравствуйте! Перевозчик разберётся с водителем.")


# --- spelling --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "quoted"),
    [
        # «в течении» with words before the time noun is the wrong form of «в течение»…
        ("Горячую воду дадут в течении трёх рабочих дней, до 12 декабря.", ("в течении трёх рабочих дней",)),
        ("Горячую воду дадут в течение трёх дней, до 12 декабря.", None),
        # …but «в течении реки» — the river's current — is right.
        ("Бревно в течении реки у моста уберут водолазы до 12 декабря.", None),
        # A comma before «что» after a noun whose clause it opens…
        ("Приносим извинения что не предупредили, свет дадут до 18:00.", ("извинения что",)),
        ("Приносим извинения, что не предупредили, свет дадут до 18:00.", None),
        # …not after a preposition's noun, where the comma may stand earlier.
        ("Свет дадут до 18:00 при условии что ремонтники успеют заменить кабель.", None),
        # Colloquial «-ка» nouns made from dictionary adjectives are words; a misspelt stem is still caught.
        ("Ливнёвку на Лесной прочистят до 15 декабря, маршрутка пойдёт в объезд.", None),
        ("Астановку на Лесной перенесут до 15 декабря.", ("Астановку",)),
    ],
)
def test_spelling_forms_commas_and_words(draft: str, quoted: tuple[str, ...] | None):
    assert found("На Лесной после дождя отключили свет и воду.", "Здравствуйте! " + draft).get("spelling") == quoted

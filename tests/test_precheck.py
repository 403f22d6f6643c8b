"""The draft pre-check (bot.domain.precheck): each checklist reason on our own examples.

The examples are written for these tests from the rules of ../shared/answer-quality/README.md,
not taken from its labelled set (which the benchmark uses), so that the checks are held to the
rules and not to one sample of officials' writing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.domain.incident import ReturnReason
from bot.domain.precheck import ADVICE_KEYS, RETURN_REASONS, Finding, Reason, check_draft, lexicon, warm_up

ROOF = "Течёт крыша в доме на Заводской 9, на пятом этаже мокрые потолки. Когда почините?"
POTHOLE = "На въезде во двор Берёзовой 4 огромная яма, вчера пробил колесо."


@pytest.fixture(scope="module", autouse=True)
def _loaded():
    warm_up()


def found(draft: str, post: str = ROOF, attachments: int = 0) -> dict[str, tuple[str, ...]]:
    """The reasons found in ``draft`` with their words."""
    return {f.reason.value: f.words for f in check_draft(post, draft, attachments)}


# --- the API -----------------------------------------------------------------------------------


def test_a_clean_answer_has_no_findings():
    draft = (
        "Здравствуйте! Кровлю над пятым этажом дома 9 на Заводской подрядчик отремонтирует до 12 декабря: "
        "материалы уже завезли. Мокрые потолки в квартирах после ремонта осмотрит наш инженер."
    )
    assert check_draft(ROOF, draft, 0) == []


def test_findings_come_in_checklist_order_with_advice_keys_and_return_reasons():
    draft = "Во исполнение поручения сообщаем: кровлю отремонтировали. Обращайтесь пожалуйста в УК."
    findings = check_draft(ROOF, draft, 0)
    assert [f.reason for f in findings] == [
        Reason.no_evidence,
        Reason.bureaucratese,
        Reason.abbreviations,
        Reason.spelling,
    ]
    for f in findings:
        assert isinstance(f, Finding)
        assert f.advice_key == f"precheck.{f.reason.value}"
        assert f.return_reason is RETURN_REASONS[f.reason]


def test_every_reason_maps_to_a_curator_return_reason():
    assert set(RETURN_REASONS) == set(Reason)
    assert set(ADVICE_KEYS) == set(Reason)
    assert RETURN_REASONS[Reason.bureaucratese] is ReturnReason.wrong_format
    assert RETURN_REASONS[Reason.abbreviations] is ReturnReason.wrong_format
    assert RETURN_REASONS[Reason.no_merits] is ReturnReason.not_on_merits
    assert RETURN_REASONS[Reason.redirect] is ReturnReason.redirects


def test_empty_draft_and_negative_attachments():
    assert check_draft(ROOF, "", 0) == []
    assert check_draft(ROOF, "   ", 0) == []
    with pytest.raises(ValueError, match="attachments"):
        check_draft(ROOF, "Здравствуйте!", -1)


def test_the_check_is_deterministic():
    draft = "Во исполнение поручения яму заделали. Обращайтесь в УК."
    assert check_draft(POTHOLE, draft, 0) == check_draft(POTHOLE, draft, 0)


# --- no_merits ---------------------------------------------------------------------------------


def test_no_merits_stock_phrases_with_nothing_concrete():
    got = found("Добрый день. Ваше обращение рассмотрено, вопрос находится на особом контроле администрации.")
    assert "no_merits" in got
    assert any("контроле" in w for w in got["no_merits"])


def test_no_merits_a_hand_over_that_says_nothing_of_what_will_be_done():
    got = found("Информация о протечке передана в управление жилищного хозяйства. Благодарим за неравнодушие.")
    assert "no_merits" in got
    assert any(w.startswith("передана") for w in got["no_merits"])


def test_a_hand_over_with_the_action_and_term_is_on_the_merits():
    got = found("Ваше обращение передано в управляющую компанию «Светлый дом»: кровлю залатают до 6 декабря.")
    assert "no_merits" not in got


def test_a_stock_phrase_beside_a_reported_result_is_on_the_merits():
    got = found("Вопрос на контроле: вчера кровельщики заменили листы над подъездом, фото во вложении.", attachments=1)
    assert "no_merits" not in got


def test_a_cause_is_on_the_merits():
    got = found(
        "Сообщение передано в теплосеть. Потолки мокрые из-за прорыва трубы отопления на чердаке.",
    )
    assert "no_merits" not in got


def test_a_pure_redirect_is_redirect_not_no_merits():
    got = found("Ремонт кровли не входит в полномочия администрации. Обратитесь в управляющую компанию.")
    assert "redirect" in got
    assert "no_merits" not in got


# --- no_date -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "до 20 января",
        "20.01.2027",
        "до двадцать пятого декабря",
        "в феврале",
        "во втором квартале 2027 года",
        "в 2027 году",
        "в течение двух недель",
        "через три дня",
        "до конца недели",
        "летом",
        "на следующей неделе",
        "завтра",
    ],
)
def test_any_calendar_bound_is_a_term(term):
    got = found(f"Здравствуйте! Кровлю над пятым этажом отремонтируют {term}.")
    assert "no_date" not in got, term


def test_a_clock_time_today_is_a_term():
    assert "no_date" not in found("Здравствуйте! Аварийная бригада устранит протечку на чердаке до 16:00.")


def test_a_promise_without_a_calendar_bound_is_no_term():
    got = found("Здравствуйте! Кровлю отремонтируют в ближайшее время, как только позволит погода.")
    assert got.get("no_date") == ("в ближайшее время",)
    got = found("Здравствуйте! Сроки ремонта кровли будут определены после поступления финансирования.")
    assert "no_date" in got
    assert "после поступления финансирования" in got["no_date"]


def test_a_past_decision_scheduling_a_date_gives_a_term():
    assert "no_date" not in found("Здравствуйте! Ремонт кровли перенесли на май 2027 года.")


def test_a_date_in_the_past_is_not_a_term_for_the_solution():
    got = found("Здравствуйте! Кровлю осмотрели 2 декабря, протечка над третьим подъездом.")
    assert "no_date" in got


def test_the_date_of_a_document_is_not_a_term():
    got = found("Ремонт кровли предусмотрен программой, утверждённой постановлением от 01.02.2026 № 15.")
    assert "no_date" in got


def test_a_problem_reported_solved_needs_no_term():
    got = found(
        "Здравствуйте! Кровлю над пятым этажом залатали, потолки больше не мокнут. Фото прикладываем.", attachments=2
    )
    assert "no_date" not in got


def test_a_temporary_measure_does_not_solve_the_problem():
    got = found("Здравствуйте! Над пятым этажом временно натянули плёнку и огородили вход на чердак.", attachments=1)
    assert "no_date" in got


def test_an_answer_to_a_where_question_needs_no_term():
    post = "Подскажите, где сдать старые батарейки? Не хочу выбрасывать в мусор."
    got = found("Здравствуйте! Батарейки принимают в магазинах «Эко» и в школе № 3, контейнеры стоят у входа.", post)
    assert "no_date" not in got


@pytest.mark.parametrize(
    "post",
    ["Как долго ещё ждать ремонта крыши?", "Где ремонт, который нам обещали летом?", "Почему не чинят крышу?"],
)
def test_questions_that_ask_when_or_complain_need_a_term(post):
    assert "no_date" in found("Здравствуйте! Крышу отремонтируют в ближайшее время.", post)


def test_a_why_not_question_asks_for_action_and_needs_a_term():
    post = "Почему до сих пор не убрали снег во дворе Садовой 2?"
    got = found("Здравствуйте! Снег уберут в ближайшее время.", post)
    assert "no_date" in got


def test_a_justified_refusal_needs_no_term():
    post = "Поставьте лежачего полицейского у дома 4 на Лесной, машины гоняют."
    draft = (
        "Здравствуйте! Искусственная неровность на Лесной не предусмотрена: по ней ходят автобус и скорая помощь. "
        "Скорость там ограничивает знак 40."
    )
    assert "no_date" not in found(draft, post)


def test_measures_taken_after_a_past_incident_need_no_term():
    post = "Кондуктор 5-го автобуса нагрубил моей маме!"
    draft = "Здравствуйте! Перевозчик провёл служебную проверку, кондуктору объявили выговор. Приносим извинения."
    assert "no_date" not in found(draft, post)


# --- no_evidence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "word"),
    [
        ("Мусор с площадки у дома 3 вывезли сегодня утром.", "вывезли"),
        ("Работы по замене люка на въезде выполнены.", "выполнены"),
        ("Снег расчищен, дорожки посыпаны песком. Фото прилагаем.", "расчищен"),
        ("Провал на въезде временно огородили сигнальной лентой.", "огородили"),
        ("Начали ремонт въезда: старый асфальт уже сняли.", "Начали"),
        ("Фонари на въезде включили вчера вечером.", "включили"),
    ],
)
def test_work_reported_done_without_attachments(draft, word):
    got = found(draft, POTHOLE)
    assert word in got.get("no_evidence", ())


def test_closing_a_manhole_is_work_but_closing_for_repairs_is_not():
    manhole = "Открытый люк у дома 20 на Гагарина! Дети рядом ходят."
    assert "no_evidence" in found("Люк у дома 20 закрыли новой крышкой.", manhole)
    assert "no_evidence" not in found("Библиотеку закрыли на ремонт до 1 марта.", "Почему не работает библиотека?")


def test_the_event_complained_of_restated_is_not_work():
    post = "Мою машину эвакуировали со двора незаконно!"
    draft = "Здравствуйте! Вашу машину эвакуировали, потому что она стояла под знаком. Её можно забрать до 20:00."
    assert "no_evidence" not in found(draft, post)


def test_any_attachment_is_evidence():
    assert "no_evidence" not in found("Яму на въезде заделали щебнем и асфальтом.", POTHOLE, attachments=1)


@pytest.mark.parametrize(
    "draft",
    [
        "Яму на въезде заделают завтра до 12:00.",  # planned
        "Специалисты проверили въезд и нашли промоину под асфальтом, ремонт 5 декабря.",  # an inspection
        "Подрядчику вынесено предупреждение, яму он заделает до 5 декабря.",  # a warning
        "Яму ещё не заделали: асфальтовый завод закрыт до 5 декабря.",  # negated
        "Гараж у въезда построен без разрешения, владельцу выдано предписание.",  # the offence, not work
        "Въезд включили в план ремонта на 2027 год.",  # a decision, not work
    ],
)
def test_plans_checks_warnings_and_negations_need_no_evidence(draft):
    assert "no_evidence" not in found(draft, POTHOLE)


# --- bureaucratese -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "word"),
    [
        ("Согласно статье 16 Федерального закона № 131-ФЗ дороги содержит поселение.", "131-ФЗ"),
        ("Решением комиссии от 10.10.2025 № 7 двор включён в программу, ремонт в мае 2027 года.", "№ 7"),
        ("Ремонт по п. 4.2 Правил благоустройства выполнит собственник до 1 мая.", "п. 4.2"),
        ("Во исполнение поручения главы двор отремонтируют до 1 мая.", "Во исполнение"),
        ("Яму заделают силами подрядной организации до 1 мая.", "силами"),
        ("В целях недопущения подтопления ливнёвку прочистят до 1 мая.", "В целях"),
    ],
)
def test_legal_references_and_cliches(draft, word):
    got = found(draft, POTHOLE)
    assert any(word in w for w in got.get("bureaucratese", ())), got


def test_chains_of_verbal_nouns():
    got = found("Обеспечение выполнения работ по содержанию дорог возложено на подрядчика до 1 мая.", POTHOLE)
    assert "bureaucratese" in got
    assert any(w.startswith("Обеспечение выполнения") for w in got["bureaucratese"])


@pytest.mark.parametrize(
    "draft",
    [
        "По правилам благоустройства въезд ремонтирует управляющая компания, она заделает яму до 5 декабря.",
        "В школе № 5 и на маршруте № 12 всё в порядке, а яму у вас заделают до 5 декабря.",
        "Отключение горячей воды продлится до 8 декабря, яму заделают после этого, до 12 декабря.",
        "В п. Лесной яму на въезде заделают 5 декабря.",
    ],
)
def test_plain_rules_numbers_of_things_and_addresses_are_fine(draft):
    assert "bureaucratese" not in found(draft, POTHOLE)


# --- abbreviations -----------------------------------------------------------------------------


def test_unexpanded_abbreviations_once_each():
    got = found("Яму заделает МУП «Горсвет» до 5 декабря, а ТСЖ проверит двор. МУП пришлёт фото.", POTHOLE)
    assert got["abbreviations"] == ("МУП", "ТСЖ")


def test_mixed_case_abbreviation():
    assert found("Работы ведутся по СанПиН, яму заделают до 5 декабря.", POTHOLE)["abbreviations"] == ("СанПиН",)


def test_expanded_at_first_use_is_fine():
    draft = (
        "Двор обслуживает товарищество собственников жилья (ТСЖ) «Берёзка». ТСЖ заделает яму до 5 декабря, "
        "а ЖЭУ (жилищно-эксплуатационный участок) проверит ливнёвку."
    )
    assert "abbreviations" not in found(draft, POTHOLE)


def test_expansion_after_the_first_use_is_too_late():
    draft = "МКД на Берёзовой обслуживает управляющая компания. Многоквартирный дом (МКД) получит новый въезд до мая."
    assert found(draft, POTHOLE)["abbreviations"] == ("МКД",)


def test_tolerated_abbreviations_brands_and_plates_are_fine():
    draft = (
        "ООО «ДорСтройСервис» заделает яму до 5 декабря. Справку о ДТП выдадут в ГИБДД или МФЦ. "
        "Машину В 555 ОР 66 со въезда уберут."
    )
    assert "abbreviations" not in found(draft, POTHOLE)


# --- personal_data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "word"),
    [
        ("Шумит жилец квартиры 14 Смирнов, с ним поговорит участковый 5 декабря.", "квартиры 14"),
        ("Шумит жилец Смирнов Антон Игоревич, с ним поговорит участковый 5 декабря.", "Смирнов Антон Игоревич"),
        ("Нарушитель — Н. П. Кулагина из дома 3, ей выдали предписание до 5 декабря.", "Кулагина"),
        ("Машину бросил Павлов Игорь, тел. +7 (922) 555-12-34, её эвакуируют до 5 декабря.", "+7 (922) 555-12-34"),
        ("Машину с номером В 555 ОР 66 эвакуируют до 5 декабря.", "В 555 ОР 66"),
    ],
)
def test_private_persons_made_identifiable(draft, word):
    got = found(draft, POTHOLE)
    assert any(word in w for w in got.get("personal_data", ())), got


@pytest.mark.parametrize(
    "draft",
    [
        "Здравствуйте, Николай! Яму заделают до 5 декабря.",
        "Уважаемая Анна Сергеевна! Яму заделают до 5 декабря.",
        "Глава поселения Морозов А. В. сам проверит въезд 5 декабря.",
        "Если яма появится снова, звоните в дежурную часть: 8-912-000-11-22.",
        "Яму у дома 12 на улице Гагарина и на Чкалова 3 заделают до 5 декабря.",
        "Яму на Петрова и по Гоголя заделают до 5 декабря.",
        "27 декабря на площади пройдёт праздник с Дедом Морозом, а яму заделают до 20 декабря.",
    ],
)
def test_greetings_officials_services_and_streets_are_fine(draft):
    assert "personal_data" not in found(draft, POTHOLE)


# --- redirect ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [
        "По вопросу ремонта въезда обращайтесь в управляющую компанию.",
        "Содержание внутридворовых проездов не относится к компетенции администрации.",
        "Свяжитесь с управляющей компанией, это её зона.",
        "Администрация не может ремонтировать частные проезды. Рекомендуем подать жалобу в жилищную инспекцию.",
    ],
)
def test_sending_the_author_elsewhere_is_a_redirect(draft):
    assert "redirect" in found(draft, POTHOLE)


@pytest.mark.parametrize(
    "draft",
    [
        "Яму заделает подрядчик до 15 мая 2027 года. Если появятся новые ямы, позвоните в отдел ЖКХ: 2-22-22.",
        "Мы передали ваше сообщение в управляющую компанию, яму засыплют щебнем завтра.",
        "Въезд ремонтирует управляющая компания «Уют»: она обещала заделать яму до пятницы.",
    ],
)
def test_a_named_body_acting_or_an_extra_contact_is_no_redirect(draft):
    assert "redirect" not in found(draft, POTHOLE)


def test_telling_where_to_get_what_was_asked_is_no_redirect():
    post = "Где получить справку о составе семьи?"
    assert "redirect" not in found("Справку выдают в МФЦ и в паспортном столе, нужен паспорт.", post)


# --- spelling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "word"),
    [
        ("Здраствуйте! Яму заделают до 5 декабря.", "Здраствуйте"),
        ("Яму заделают до 5 декабря, приносим свои извенения.", "извенения"),
        ("Варианты ремонта сейчас рассматриваються, яму заделают до 5 декабря.", "рассматриваються"),
        ("Яму заделают в течении недели.", "в течении недели"),
        ("Яму заделают согласно графика, до 5 декабря.", "согласно графика"),
        ("Яму заделают до 5 декабря, что бы машины не ломались.", "что бы"),
        ("Сообщаем что яму заделают до 5 декабря.", "Сообщаем что"),
        ("Подрядчик не знает где яма, уточним до 5 декабря.", "знает где"),
        (
            "Если асфальт не привезут до пятницы яму засыплют щебнем.",
            "Если асфальт не привезут до пятницы яму засыплют",
        ),
        ("Звоните пожалуйста в отдел ЖКХ, яму заделают до 5 декабря.", "Звоните пожалуйста"),
        ("Яму заделают до 5 декабря, или до 6 декабря.", "декабря, или"),
        ("Позвоните нам, или напишите, яму заделают до 5 декабря.", "нам, или"),
        ("Просим отнестись с пониманием, к задержке: яму заделают до 5 декабря.", "с пониманием, к"),
    ],
)
def test_spelling_wrong_forms_and_punctuation(draft, word):
    got = found(draft, POTHOLE)
    assert any(word in w for w in got.get("spelling", ())), got


@pytest.mark.parametrize(
    "draft",
    [
        "Сообщаем, что яму заделают до 5 декабря.",
        "Если асфальт не привезут до пятницы, яму засыплют щебнем.",
        "Звоните, пожалуйста, в отдел ЖКХ. Пожалуйста!",
        "Позвоните или напишите нам, яму заделают до 5 декабря, или мы сами вам перезвоним.",
        "Что бы ни случилось, яму заделают до 5 декабря, потому что асфальт уже привезли.",
        "Ёлку и елку поставят до 20 декабря, а въезд ООО «Стройтрансгаз» отремонтирует в Кедровке.",
        "Госномер машины на видеорегистраторе не виден, капремонт въезда включён в план на 2027 год.",
        "Мы знаем, где яма, её заделают в течение недели.",
        "Позвоните, если будет нужно, а яму заделают до 5 декабря.",
        "Напишите нам, если будет нужна помощь.",
    ],
)
def test_correct_writing_is_not_flagged(draft):
    assert "spelling" not in found(draft, POTHOLE)


# --- the word lists and the package's boundaries -------------------------------------------------


def test_every_list_entry_says_why():
    from importlib import resources

    checked = 0
    for package in ("bot.domain.precheck", "bot.domain.screening"):
        for name in lexicon.list_names(package):
            text = resources.files(package).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
            for line in text.splitlines():
                if line.strip() and not line.startswith("#"):
                    pattern, _, why = line.partition("  # ")
                    assert pattern.strip() and why.strip(), f"{package} {name}: {line!r}"
                    checked += 1
    assert checked > 300
    assert len(lexicon.load("work_verbs")) > 40  # and the loader reads them


def test_an_entry_without_a_why_is_refused():
    with pytest.raises(ValueError, match="no '# why'"):
        lexicon.parse_entries(["во исполнение"], "test.txt")
    entries = lexicon.parse_entries(["во исполнение  # канцелярит", "# a comment"], "test.txt")
    assert [e.pattern for e in entries] == ["во исполнение"]


def test_lists_match_any_form_of_a_word():
    from bot.domain.precheck.nlp import analyse

    phrases = lexicon.PhraseList("t", lexicon.parse_entries(["на ... контроль  # stock"], "t"))
    for text in ("Вопрос на контроле.", "Взяли на личный контроль.", "Находится на постоянном контроле главы."):
        assert phrases.find(analyse(text)), text


def test_the_domain_packages_import_nothing_of_telegram_sql_or_the_network():
    code = textwrap.dedent(
        """
        import socket, sys

        def refuse(*args, **kwargs):
            raise OSError("network used")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        import bot.domain.precheck as precheck, bot.domain.screening as screening
        precheck.warm_up()
        screening.warm_up()
        precheck.check_draft("Яма", "Яму заделали.", 0)
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("aiogram", "sqlalchemy", "handlers", "storage"))
        print(",".join(bad))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == ""


# --- the rules' own named examples (answer-quality README), each in a sentence of ours ----------------

NAMED_TERMS = [
    "до двадцатого декабря",
    "до конца месяца",
    "в течение недели",
    "в мае 2027 года",
    "в 2027 году",
]


@pytest.mark.parametrize("term", NAMED_TERMS)
def test_named_terms(term):
    assert "no_date" not in found(f"Здравствуйте! Протечку над пятым этажом устранят {term}.")


def test_a_weather_proviso_does_not_cancel_a_term():
    draft = "Здравствуйте! Кровлю переложат, если будет сухо; закончить рассчитываем к 15 декабря."
    assert "no_date" not in found(draft)


@pytest.mark.parametrize(
    ("phrase", "quoted"),
    [
        ("в ближайшее время", "в ближайшее время"),
        ("когда будет готово, сообщим дополнительно", "сообщим дополнительно"),
        ("с учётом возможностей бюджета", "с учётом возможностей бюджета"),
    ],
)
def test_named_non_terms(phrase, quoted):
    got = found(f"Здравствуйте! Кровлю над пятым этажом отремонтируют {phrase}.")
    assert quoted in got.get("no_date", ())


@pytest.mark.parametrize(
    "cliche",
    [
        "Во исполнение",
        "В рамках реализации",
        "вышеуказанный",
        "Доводим до Вашего сведения",
        "В целях обеспечения",
        "осуществляется в соответствии с",
        "силами",
    ],
)
def test_named_cliches(cliche):
    drafts = {
        "Во исполнение": "Во исполнение вашей просьбы кровлю отремонтируют до 20 декабря.",
        "В рамках реализации": "В рамках реализации программы кровлю отремонтируют до 20 декабря.",
        "вышеуказанный": "Кровлю над вышеуказанным подъездом отремонтируют до 20 декабря.",
        "Доводим до Вашего сведения": "Доводим до Вашего сведения, что кровлю отремонтируют до 20 декабря.",
        "В целях обеспечения": "В целях обеспечения сухости кровлю отремонтируют до 20 декабря.",
        "осуществляется в соответствии с": "Ремонт кровли осуществляется в соответствии с планом, до 20 декабря.",
        "силами": "Кровлю отремонтируют силами подрядчика до 20 декабря.",
    }
    got = found(drafts[cliche])
    stem = cliche.lower()[:10]  # «вышеуказанный» is quoted as written: «вышеуказанным»
    assert any(stem in w.lower() for w in got.get("bureaucratese", ())), got


def test_a_named_act_with_number_and_date_and_plain_rules():
    got = found("Деревья спилили по заключению (постановление администрации от 14.09.2026 № 1187).", attachments=1)
    assert any("от 14.09.2026 № 1187" in w for w in got.get("bureaucratese", ()))
    for plain in ("по правилам благоустройства", "по областному закону о тишине"):
        assert "bureaucratese" not in found(f"Шуметь после 22:00 нельзя {plain}, завтра предупредим соседей.")


@pytest.mark.parametrize("abbr", ["МКУ", "МУП", "МБОУ", "УК", "ТКО", "ГВС", "МКД", "СНТ", "СанПиН"])
def test_named_abbreviations_to_expand(abbr):
    assert found(f"Кровлю отремонтирует {abbr} до 20 декабря.").get("abbreviations") == (abbr,)


@pytest.mark.parametrize(
    "draft",
    [
        "Кровлю отремонтирует управляющая компания (УК) «Дом» до 20 декабря, УК пришлёт фото.",
        "Мусор заберёт оператор по вывозу ТКО (твёрдых коммунальных отходов) до 20 декабря.",
        "Справку о ДТП дадут в МФЦ, ГИБДД, МВД или МЧС; РФ, ЖКХ, ЕГЭ и ОГЭ тут ни при чём; ООО, АО, ПАО, ИП — тоже.",
        "Минздрав, капремонт, соцзащита и спорткомплекс — обычные слова; кровлю починят до 20 декабря.",
    ],
)
def test_named_tolerated_and_expanded_abbreviations(draft):
    assert "abbreviations" not in found(draft)


def test_named_redirect_examples():
    assert "redirect" in found("Не относится к полномочиям администрации, обращение направлено в министерство.")
    assert "redirect" not in found("Мы передали в УК «ЖилСервис»: лифт запустят до 11 декабря.")
    post = "Где оформить парковочное разрешение для инвалида?"
    assert "redirect" not in found("Разрешение оформляют в МФЦ, нужен паспорт.", post)


def test_photo_promised_in_words_is_no_evidence():
    got = found("Кровлю над пятым этажом залатали. Фото прилагаем.", attachments=0)
    assert "no_evidence" in got
    assert "no_evidence" not in found("Кровлю над пятым этажом залатали. Фото прилагаем.", attachments=1)


@pytest.mark.parametrize("word", ["Здраствуйте", "извенения", "рассматриваються", "демонтированно"])
def test_named_misspellings(word):
    draft = {
        "Здраствуйте": "Здраствуйте! Кровлю отремонтируют до 20 декабря.",
        "извенения": "Приносим извенения, кровлю отремонтируют до 20 декабря.",
        "рассматриваються": "Сейчас рассматриваються сметы, кровлю отремонтируют до 20 декабря.",
        "демонтированно": "Старое покрытие демонтированно, новое положат до 20 декабря.",
    }[word]
    assert word in found(draft, attachments=1).get("spelling", ())

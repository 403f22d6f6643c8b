"""Scenarios through the real bot and the local Bot API: what curators and executors see and press."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.domain.errors import NotFound
from bot.domain.incident import State
from handlers.callbacks import CardAction, CardCb
from tests.world import world

POST = "https://vk.com/wall-1_100 На ул. Ленина третью неделю не вывозят мусор, контейнеры переполнены"

# Per preset: who publishes, and whether the regional centre approves as a second level.
PRESETS = {
    "kluchi": ("executor", False, "Thu, 12 March, 10:00"),  # 9 working hours from Wed 09:00
    "otradnaya": ("executor", False, "Wed, 11 March, 10:00"),
    "borovichi": ("curator", False, "Wed, 11 March, 10:00"),
    "petrovsky": ("curator", True, "Wed, 11 March, 10:00"),
    "udmurtia": ("executor", False, "Thu, 12 March, 10:00"),
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
async def test_full_lifecycle_from_registration_to_publication(tmp_path: Path, preset: str) -> None:
    publisher, two_levels, answer_due = PRESETS[preset]
    start = "2026-03-10 10:00" if preset != "kluchi" else "2026-03-11 09:00"
    async with world(tmp_path, preset, start=start) as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register(POST, topic="ЖКХ")
        number = int(card.text.split("No. ")[1].split()[0])
        assert "Answer due" in card.text
        await w.route(card, "Управление ЖКХ")

        # The executor gets a new card with the post and the deadline in local time.
        mine = await anna.wait_message(contains="New incident for your department")
        assert "не вывозят мусор" in mine.text and answer_due in mine.text
        assert "working time left" in mine.text
        await w.press(anna, mine, "Accept")
        await w.press(anna, mine, "Write the answer")
        await anna.send("Контейнеры вывезены сегодня в 14:00, график вывоза восстановлен. Фото прилагаем.")
        await anna.send(photo=True)
        preview = await anna.wait_message(contains="Attachments: 1")
        await w.press(anna, preview, "Submit for approval")

        # The curator sees the draft and approves it.
        review = w.card_of(w.curator, number)
        assert "A draft waits for your approval" in review.text and "график вывоза восстановлен" in review.text
        await w.press(w.curator, review, "Approve")
        if two_levels:
            regional = w.card_of(w.approver, number)
            assert "regional centre" in regional.text
            await w.press(w.approver, regional, "Approve")

        who = anna if publisher == "executor" else w.curator
        to_publish = w.card_of(who, number)
        await w.press(who, to_publish, "Published: send the link")
        await who.send("https://vk.com/wall-1_100?reply=555")
        await w.settle()

        incident = await w.app.services.get(number)
        assert incident.state is State.published
        assert incident.drafts[-1].published_url == "https://vk.com/wall-1_100?reply=555"
        assert len(incident.drafts[-1].attachments) == 1
        assert (
            "The answer is published" in w.card_of(w.curator, number).text
            or "answer published" in w.card_of(w.curator, number).text
        )


async def test_return_with_reasons_reaches_the_executor_who_revises(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Accept")
        await w.press(anna, mine, "Write the answer")
        await anna.send("Ваше обращение рассмотрено.")
        preview = await anna.wait_message(contains="Draft for incident")
        await w.press(anna, preview, "Submit for approval")

        review = w.card_of(w.curator, 1)
        await w.press(w.curator, review, "Return for revision")
        await w.press(w.curator, review, "does not answer the question on the merits")
        await w.press(w.curator, review, "no date by which the problem will be solved")
        await w.press(w.curator, review, "Return with a comment")
        await w.curator.send("Напишите, когда вывезут мусор.")
        await w.settle()

        returned = await anna.wait_message(contains="The draft is returned for revision")
        assert "does not answer the question on the merits" in returned.text
        assert "no date by which the problem will be solved" in returned.text
        assert "Напишите, когда вывезут мусор." in returned.text
        assert "Revision due" in returned.text
        await w.press(anna, returned, "Write the answer")
        prompt = await anna.wait_message(contains="The previous text")
        assert "Ваше обращение рассмотрено." in prompt.text
        await anna.send("Мусор вывезут 11 марта до 12:00.")
        preview = await anna.wait_message(contains="Draft for incident")
        await w.press(anna, preview, "Submit for approval")
        assert "Мусор вывезут 11 марта" in w.card_of(w.curator, 1).text


async def test_stale_and_repeated_presses_change_nothing_and_say_who_did_it(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        accept = mine.button("Accept")["callback_data"]
        await w.press(anna, mine, "Accept")
        await anna.press_data(mine, accept)  # the same button again, e.g. from another device
        alert = await anna.wait_alert()
        assert alert.show_alert and "Already done" in alert.text and "Анна Исполнитель" in alert.text
        incident = await w.app.services.get(1)
        assert incident.version == 2 and incident.state is State.in_work

        # a forged approval by an executor
        await anna.press_data(mine, CardCb(incident_id=1, action=CardAction.approve).pack())
        alert = await anna.wait_alert()
        assert "already" in alert.text.lower() or "cannot" in alert.text.lower() or "role" in alert.text.lower()
        # an incident that does not exist
        await anna.press_data(mine, CardCb(incident_id=999, action=CardAction.accept).pack())
        assert "No such incident" in (await anna.wait_alert()).text
        await anna.press_data(mine, "totally:forged")
        assert "no longer valid" in (await anna.wait_alert()).text
        await anna.press_data(mine, "c:abc:accept:x")
        assert "no longer valid" in (await anna.wait_alert()).text
        assert (await w.app.services.get(1)).version == 2


async def test_unknown_user_gets_one_polite_sentence_and_no_data(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        await w.register(POST)
        stranger = w.api.user(999, "Незнакомец", language_code="ru")
        await stranger.send("/incident 1")
        answer = await stranger.wait_message()
        assert "invitation" in answer.text.lower() or "приглаш" in answer.text.lower()
        await stranger.send("https://vk.com/wall-1_7 тоже пост")
        await w.settle()
        await stranger.press_data(answer, CardCb(incident_id=1, action=CardAction.accept).pack())
        alert = await stranger.wait_alert()
        assert alert.show_alert
        texts = " ".join(m.text or "" for m in stranger.messages) + (alert.text or "")
        assert "мусор" not in texts and "Ленина" not in texts
        assert (await w.app.services.get(1)).state is State.detected
        await stranger.send("/start wrong-code")
        assert "not valid" in (await stranger.wait_message()).text or "недейств" in stranger.messages[-1].text


async def test_commands_are_registered_in_both_languages(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        ru = dict(w.api.commands(language_code="ru"))
        en = dict(w.api.commands(language_code="en"))
        assert set(ru) == set(en) >= {"queue", "incident", "help", "lang", "cancel"}
        assert en["queue"] != ru["queue"]


async def _accepted(w, anna, post: str = POST):
    card = await w.register(post)
    await w.route(card, "Управление ЖКХ")
    mine = await anna.wait_message(contains="New incident")
    await w.press(anna, mine, "Accept")
    return card, mine


async def _draft(w, user, card, button: str, text: str) -> None:
    await w.press(user, card, button)
    await user.send(text)
    preview = await user.wait_message(contains="Draft for incident")
    await w.press(user, preview, "Submit for approval")


async def test_clarification_pauses_the_clock_until_the_author_replies(tmp_path: Path) -> None:
    async with world(tmp_path, "borovichi") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        _, mine = await _accepted(w, anna)
        await _draft(w, anna, mine, "Ask a clarification", "Уточните, пожалуйста, номер дома.")
        await w.press(w.curator, w.card_of(w.curator, 1), "Approve")
        asked = w.card_of(anna, 1)
        assert "clock paused" in asked.text and "Answer due" not in asked.text
        w.clock.set(w.at("2026-03-11 12:00"))
        await w.press(anna, asked, "Author replied")
        await anna.send("Дом 5")
        await w.settle()
        resumed = w.card_of(anna, 1)
        # 0 h ran before the pause (10:00 → 10:00), so 8 working hours from Wed 12:00: Thu 12:00.
        assert "Answer due: Thu, 12 March, 12:00" in resumed.text
        history = [e.name for e in await w.app.services.history(1)]
        assert history[-2:] == ["approved", "author_replied"]


async def test_intermediate_answer_then_final_within_7_working_days(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        _, mine = await _accepted(w, anna)
        await _draft(w, anna, mine, "Intermediate answer", "Вопрос на контроле, контейнеры заменят до 20 марта.")
        await w.press(w.curator, w.card_of(w.curator, 1), "Approve")
        await w.press(anna, w.card_of(anna, 1), "Published: send the link")
        await anna.send("https://vk.com/wall-1_100?reply=1")
        await w.settle()
        waiting = w.card_of(anna, 1)
        assert "Final answer due: Thu, 19 March, 10:00" in waiting.text
        w.clock.set(w.at("2026-03-18 11:00"))
        await _draft(w, anna, waiting, "Write the answer", "Контейнеры заменены, фото в комментарии.")
        await w.press(w.curator, w.card_of(w.curator, 1), "Approve")
        await w.press(anna, w.card_of(anna, 1), "Published: send the link")
        await anna.send("https://vk.com/wall-1_100?reply=2")
        await w.settle()
        assert (await w.app.services.get(1)).state is State.published


async def test_not_ours_returns_to_the_curator_who_reroutes(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Дорожник", "Комитет по дорогам")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Not our competence")
        await anna.send("Контейнерные площадки обслуживает комитет по дорогам.")
        await w.settle()
        back = await w.curator.wait_message(contains="not its competence")
        assert "Контейнерные площадки обслуживает" in back.text and "Re-routing due" in back.text
        await w.route(back, "Комитет по дорогам")
        theirs = await boris.wait_message(contains="re-routed")
        await w.press(boris, theirs, "Accept")
        assert (await w.app.services.get(1)).state is State.in_work


async def test_the_same_post_again_shows_its_incident_instead_of_a_second_one(tmp_path: Path) -> None:
    """One post, one incident: the repeat offer for the same author on the same topic is in
    tests/test_intake_chat.py."""
    async with world(tmp_path, "kluchi") as w:
        await w.register(POST)
        await w.curator.send(POST.replace("https://vk.com/", "https://m.vk.com/"))
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        card = await w.curator.wait_message(contains="No. 1", where=lambda m: bool(m.buttons))
        assert "Route to a department" in str(card.buttons)
        with pytest.raises(NotFound):
            await w.app.services.get(2)


async def test_further_post_on_the_same_question_joins_the_open_incident(tmp_path: Path) -> None:
    async with world(tmp_path, "kluchi") as w:
        await w.register(POST, topic="ЖКХ")
        await w.curator.send("https://ok.ru/group/5/topic/9 И у нас на Ленина не вывозят мусор")
        intake = await w.curator.wait_message(contains="check and register")
        assert "Possibly the same question" not in intake.text  # another network, another author
        await w.press(w.curator, intake, intake.buttons[0][0])
        await w.press(w.curator, intake, "ЖКХ")
        assert "Possibly the same question: No. 1" in intake.text
        await w.press(w.curator, intake, "Add to No. 1 as a source")
        incident = await w.app.services.get(1)
        assert [s.url for s in incident.sources] == ["https://vk.com/wall-1_100", "https://ok.ru/group/5/topic/9"]
        assert "Odnoklassniki" in w.card_of(w.curator, 1).text


async def test_not_processable_closes_with_the_reason(tmp_path: Path) -> None:
    async with world(tmp_path, "udmurtia") as w:
        card = await w.register("https://vk.com/wall-1_9 угрозы и нецензурная брань")
        await w.press(w.curator, card, "Not processable")
        await w.curator.send("Нецензурные выражения, угрозы должностному лицу")
        await w.settle()
        closed = w.card_of(w.curator, 1)
        assert "not processable" in closed.text and "Нецензурные выражения" in closed.text
        assert (await w.app.services.get(1)).state is State.not_processable


async def test_unsupported_content_and_commands_without_the_role(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        await anna.send("/invite")
        assert "Only administrators" in (await anna.wait_message()).text
        await anna.send("https://vk.com/wall-1_5 executor cannot register")
        assert "did not understand" in (await anna.wait_message()).text
        await w.api.enqueue(
            {
                "message": {
                    "message_id": 900,
                    "date": 0,
                    "chat": {"id": 100, "type": "private"},
                    "from": {"id": 100, "is_bot": False, "first_name": "M"},
                    "sticker": {
                        "file_id": "s1",
                        "file_unique_id": "u1",
                        "type": "regular",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                    },
                }
            }
        )
        await w.settle()
        assert "Forward a post" in w.curator.messages[-1].text


async def test_joint_parallel_contributions_and_the_consolidating_department(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Дорожник", "Комитет по дорогам")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ", "Комитет по дорогам", mode="all at once")
        a_card = await anna.wait_message(contains="New incident")
        b_card = await boris.wait_message(contains="New incident")
        assert "Add our contribution" in str(a_card.buttons) and "Write the answer" not in str(a_card.buttons)
        await _draft(w, anna, a_card, "Add our contribution", "ЖКХ: контейнеры вывезены.")
        await _draft(w, boris, b_card, "Add our contribution", "Дороги: подъезд к площадке расчищен.")
        curator_card = w.card_of(w.curator, 1)
        assert "ЖКХ: контейнеры вывезены." in curator_card.text
        await w.press(w.curator, curator_card, "Choose who writes the joint answer")
        await w.press(w.curator, curator_card, "Комитет по дорогам")
        joint = await boris.wait_message(contains="Your department writes the joint answer")
        await _draft(w, boris, joint, "Write the answer", "Контейнеры вывезены, подъезд расчищен.")
        assert (await w.app.services.get(1)).state is State.on_approval


async def test_joint_sequential_each_department_in_turn(tmp_path: Path) -> None:
    async with world(tmp_path, "udmurtia") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Дорожник", "Комитет по дорогам")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ", "Комитет по дорогам", mode="one after another")
        first = await anna.wait_message(contains="New incident")
        assert not [m for m in boris.messages if "New incident" in (m.text or "")]  # not his turn yet
        await _draft(w, anna, first, "Add our contribution", "ЖКХ: вывоз восстановлен.")
        second = await boris.wait_message(contains="gave its part")
        assert "ЖКХ: вывоз восстановлен." in second.text
        await w.press(boris, second, "Accept")
        await _draft(w, boris, w.card_of(boris, 1), "Write the answer", "Общий ответ: вывоз восстановлен.")
        assert (await w.app.services.get(1)).state is State.on_approval


async def test_split_gives_each_department_its_own_incident(tmp_path: Path) -> None:
    async with world(tmp_path, "borovichi") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Дорожник", "Комитет по дорогам")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ", "Комитет по дорогам", mode="Split")
        assert "split between departments" in w.card_of(w.curator, 1).text
        a_card = await anna.wait_message(contains="part of a split message")
        b_card = await boris.wait_message(contains="part of a split message")
        assert "No. 2" in a_card.text and "No. 3" in b_card.text
        await w.press(anna, a_card, "Accept")
        assert (await w.app.services.get(2)).state is State.in_work


async def test_department_group_chat_any_member_takes_the_incident(tmp_path: Path) -> None:
    departments = [{"code": "zhkh", "name": "Управление ЖКХ", "chat_id": -1001}, {"code": "d", "name": "Дороги"}]
    async with world(tmp_path, "otradnaya", departments=departments) as w:
        group = w.api.group(-1001, "ЖКХ — инциденты")
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        posted = await group.wait_message(contains="New incident")
        assert posted.buttons == [["Take into work"]]
        await group.press(anna, posted, "Take into work")
        await w.settle()
        assert posted.buttons == []  # taken: the button is gone for everybody
        assert "Анна Исполнитель" in posted.text
        assert "Write the answer" in str(w.card_of(anna, 1).buttons)


async def test_responsible_official_hands_the_incident_to_an_executor(tmp_path: Path) -> None:
    async with world(tmp_path, "petrovsky") as w:
        code = await w.invite("responsible official of a department", "Управление ЖКХ")
        head = w.api.user(250, "Начальник ЖКХ", language_code="en")
        await head.send(f"/start {code}")
        await head.wait_message(contains="Начальник ЖКХ")
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        head_card = await head.wait_message(contains="New incident")
        await w.press(head, head_card, "Hand to an executor")
        await w.press(head, head_card, "Анна Исполнитель")
        handed = await anna.wait_message(contains="The incident was handed to you")
        assert "Write the answer" in str(handed.buttons)


async def test_queue_pages_and_incident_by_number_respect_departments(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Дорожник", "Комитет по дорогам")
        for n in range(10):
            card = await w.register(f"https://vk.com/wall-1_{n} Пост номер {n}")
            await w.route(card, "Управление ЖКХ")
        await anna.send("/queue")
        queue = await anna.wait_message(contains="Mine")
        await w.press(anna, queue, "Department")
        assert "10 incident(s), page 1 of 2" in queue.text and "›" in str(queue.buttons)
        await w.press(anna, queue, "›")
        assert "page 2 of 2" in queue.text
        await boris.send("/incident 3")
        assert "No such incident" in (await boris.wait_message()).text
        await anna.send("/incident 3")
        assert "Пост номер 2" in (await anna.wait_message(contains="No. 3")).text
        await w.settle()
        await anna.send("/incident abc")
        assert "/incident 12" in (await anna.wait_message()).text


async def test_long_draft_preview_is_split_and_the_card_stays_within_limits(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        long_post = "https://vk.com/wall-1_1 " + "Очень длинный пост. " * 400  # ~8000 characters
        card = await w.register(long_post)
        assert len(card.text) <= 4096
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Accept")
        await w.press(anna, mine, "Write the answer")
        await anna.send("Ответ. " * 700)  # 4900 characters: over one Telegram message
        await w.settle()
        pieces = [m for m in anna.messages if m.text and ("Ответ. Ответ." in m.text)]
        assert len(pieces) >= 2 and all(len(m.text) <= 4096 for m in anna.messages if m.text)
        assert pieces[-1].buttons == [["Submit for approval", "Cancel"]]
        await w.press(anna, pieces[-1], "Submit for approval")
        assert (await w.app.services.get(1)).state is State.on_approval
        assert all(len(m.text or "") <= 4096 for m in w.curator.messages)


async def test_caption_over_1024_characters_goes_to_a_separate_message(tmp_path: Path) -> None:
    from bot.domain.incident import Attachment
    from handlers.sending import send_attachments

    async with world(tmp_path, "otradnaya") as w:
        await w.curator.send("photo", photo=True)
        photo = await w.curator.wait_message()  # the bot's answer; the user's photo is in history
        file_id = next(m.media.file_id for m in w.api.chat(100).history if m.media)
        await send_attachments(w.app.bot, 100, [Attachment(file_id, "photo")], caption="Подпись " * 200)
        sent = w.api.chat(100).messages[-2:]
        assert sent[0].media is not None and not sent[0].caption
        assert sent[1].text.startswith("Подпись")
        assert photo is not None


async def test_russian_speaking_people_see_russian(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", locale="ru") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ", language="ru")
        await w.curator.send(POST)
        intake = await w.curator.wait_message(contains="зарегистрируйте")
        await w.curator.press(intake, "Зарегистрировать")
        await w.until(lambda: "Инцидент № 1" in (intake.text or ""))
        assert "Срок ответа: ср, 11 марта, 10:00" in intake.text
        assert "осталось 8 часов рабочего времени" in intake.text
        await anna.send("/help")
        assert "Исполнител" in (await anna.wait_message()).text
        await anna.send("/lang")
        choice = await anna.wait_message()
        await anna.press(choice, "English")
        await w.settle()
        await anna.send("/help")
        assert "Executor" in (await anna.wait_message()).text


@pytest.mark.skipif(not os.environ.get("OTKLIK_TEST_REDIS_URL"), reason="OTKLIK_TEST_REDIS_URL is not set")
async def test_dialogs_work_with_redis_fsm_storage(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", bot_extra={"fsm_storage": os.environ["OTKLIK_TEST_REDIS_URL"]}) as w:
        from aiogram.fsm.storage.redis import RedisStorage

        assert isinstance(w.app.dispatcher.fsm.storage, RedisStorage)
        await w.app.dispatcher.fsm.storage.redis.flushdb()
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        _, mine = await _accepted(w, anna)
        await _draft(w, anna, mine, "Write the answer", "Ответ через Redis.")
        assert (await w.app.services.get(1)).state is State.on_approval


async def test_report_command_sends_summary_workbook_and_chart(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        await _accepted(w, anna)
        w.clock.set(w.at("2026-04-02 10:00"))
        await w.curator.send("/report 2026-03")
        await w.curator.wait_message(contains="Preparing the report for March 2026…")  # at once
        await w.settle()
        sent = [c.method for c in w.api.calls() if c.method in ("sendDocument", "sendPhoto")]
        assert sent == ["sendDocument", "sendPhoto"]
        documents = [c for c in w.api.calls("sendDocument")]
        assert next(iter(documents[0].files.values())).startswith(b"PK")  # an XLSX is a zip
        photo = next(iter(w.api.calls("sendPhoto")[0].files.values()))
        assert photo.startswith(b"\x89PNG")
        await anna.send("/report 2026-03")  # an executor is not a reader of the report
        assert "curators, heads and responsible officials" in (await anna.wait_message()).text
        await w.settle()
        await w.curator.send("/report 2026-13")
        assert "YYYY-MM" in (await w.curator.wait_message()).text


async def test_a_choice_pressed_twice_stays_chosen(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        card = await w.register(POST)
        await w.press(w.curator, card, "Route to a department")
        data = card.button("Управление ЖКХ")["callback_data"]
        await w.curator.press_data(card, data)
        await w.settle()
        await w.curator.press_data(card, data)  # the same press again: a redelivery or a double tap
        await w.settle()
        assert any(b.startswith("✅") and b.endswith("Управление ЖКХ") for row in card.buttons for b in row)


async def test_show_in_full_sends_every_source_whole_in_parts_under_a_card_that_keeps_the_draft(
    tmp_path: Path,
) -> None:
    from bot.domain.incident import Network, Source

    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        card = await w.register("https://vk.com/wall-1_100 " + ("Во дворе яма, машины бьют колёса. " * 9)[:300])
        curator = await w.app.services.identify(100)
        comments = [(f"Комментарий {k}: и у нас во дворе такая же яма. " * 6)[:249] + f"#{k}" for k in range(14)]
        for k, text in enumerate(comments):
            source = Source(Network.vk, f"https://vk.com/wall-1_100?reply={900 + k}", None, text, w.clock.now())
            await w.app.services.add_source(curator, 1, source)
            await w.settle()
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Accept")
        draft = ("Яму засыплют щебнем до пятницы, фото приложим. " * 12)[:533] + " КОНЕЦ."
        await _draft(w, anna, mine, "Write the answer", draft)

        review = w.card_of(w.curator, 1)
        assert f"«{draft}»" in review.text and "Answer due" in review.text and "Управление ЖКХ" in review.text
        assert "Approve" in str(review.buttons) and "Show in full" in str(review.buttons)
        assert comments[13] not in review.text  # the sources are shortened on the card…
        before = len(w.curator.messages)
        await w.press(w.curator, review, "Show in full")
        parts = w.curator.messages[before:]
        assert len(parts) >= 2 and all(len(m.text.encode("utf-16-le")) // 2 <= 4096 for m in parts)
        received = "".join("".join(m.text for m in parts).split())
        for text in comments:  # …and every one of them arrives whole on «Show in full»
            assert "".join(text.split()) in received
        assert "".join(draft.split()) in received
        await w.press(w.curator, review, "Approve")
        assert (await w.app.services.get(1)).state is State.approved


async def test_a_draft_too_long_for_the_card_arrives_whole_before_the_card_that_says_so(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        _, mine = await _accepted(w, anna)
        draft = ("Контейнеры вывезены, площадка убрана, график восстановлен. " * 70)[:3990] + " КОНЕЦ."
        await w.press(anna, mine, "Write the answer")
        await anna.send(draft)
        await w.settle()
        preview = next(m for m in reversed(anna.messages) if m.buttons == [["Submit for approval", "Cancel"]])
        await w.press(anna, preview, "Submit for approval")
        review = w.card_of(w.curator, 1)
        assert "The draft is too long for the card: its full text (3997 characters)" in review.text
        assert "Answer due" in review.text and "draft on approval" in review.text
        apart = [
            m for m in w.curator.messages if m.text and m.text.startswith("Draft No. 1 (answer) of incident No. 1")
        ]
        assert apart and apart[-1].message_id < review.message_id and draft in apart[-1].text
        await w.press(w.curator, review, "Approve")
        assert (await w.app.services.get(1)).state is State.approved


async def test_a_stale_press_names_someone_with_a_long_emoji_name_within_the_alert_limit(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        # Telegram's longest names (64 characters each), 251 UTF-16 units together: over 200 on their own.
        name = "Анна " + "😀" * 59
        w.api.user(200, name, language_code="en", last_name="😀" * 64)
        anna = await w.executor(200, name, "Управление ЖКХ")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        accept = mine.button("Accept")["callback_data"]
        await w.press(anna, mine, "Accept")
        await anna.press_data(mine, accept)
        alert = await anna.wait_alert()  # refused by Telegram (and lost) when over 200 units
        assert alert.show_alert and alert.text.startswith("Already done: Анна 😀")
        assert "… accepted the incident, Tue, 10 March, 10:00." in alert.text  # the name shortened, not the news
        assert len(alert.text.encode("utf-16-le")) // 2 <= 200

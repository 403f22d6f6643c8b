"""The sandbox page's own words (its controls, hints and help) in the sandbox's language.

``static/index.html`` holds ``{{key}}`` where a text goes and ``static/app.js`` asks ``t("key")``; both keys are
the ones of :data:`PAGE_TEXTS`, whose messages are in the catalogs like every other text of the bot (English
msgids, Russian translations: ``locales/``). The page is served with the texts filled in (HTML-escaped) and with
``window.TEXTS`` for the script, so a trainee sees one language throughout (``python -m bot sandbox --locale en``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from bot.i18n import N_, translate

STATIC = Path(__file__).parent / "static"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

PAGE_TEXTS: dict[str, str] = {
    "title": N_("Otklik — training sandbox"),
    "brand": N_("Otklik · sandbox"),
    "regulation": N_("Regulation:"),
    "reset": N_("Start over"),
    "reset_hint": N_("A new organisation with an empty database"),
    "reset_confirm": N_("Start over with an empty database?"),
    "clock": N_("Sandbox time:"),
    "speed": N_("Speed:"),
    "plus_hour": N_("+1 hour"),
    "morning": N_("Next morning"),
    "working": N_("working hours"),
    "not_working": N_("outside working hours"),
    "scenario": N_("Scenario"),
    "no_scenario": N_("— no scenario —"),
    "choose_scenario": N_("Choose a scenario: the page will tell you each step and check it."),
    "scenario_done": N_("Scenario complete! Choose the next one."),
    "help": N_("How to use it"),
    "help_chats": N_(
        "Each column is one participant's chat with the bot, as in Telegram. Type in the field at the bottom and "
        "press the buttons under the bot's messages. «Forward a post» imitates forwarding a post from a channel; "
        "a VK link with its text can simply be sent as a message."
    ),
    "help_clock": N_(
        "The sandbox clock runs faster than the real one: reminders and working-day deadlines pass in minutes."
    ),
    "help_offline": N_("Nothing goes to the internet: the bot works with a Bot API server built in, on this computer."),
    "no_answer": N_("no answer"),
    "error": N_("error"),
    "forwarded_from": N_("Forwarded from: {channel}"),
    "photo": N_("🖼 Photo"),
    "video": N_("🎬 Video"),
    "document": N_("Document"),
    "photo_alt": N_("photo"),
    "edited": N_("edited · "),
    "message_placeholder": N_("Message to the bot… (Ctrl+Enter sends)"),
    "channel_placeholder": N_("The channel you forward from"),
    "channel_default": N_("Overheard in the district"),
    "paste_post": N_("Paste the post's text into the message field"),
    "stub_photo_hint": N_("Attach a stand-in photo"),
    "stub_photo": N_(" photo"),
    "own_picture_hint": N_("Attach a picture of your own (JPEG, PNG)"),
    "forward": N_("Forward a post"),
    "send": N_("Send"),
}


def page_texts(locale: str) -> dict[str, str]:
    """Every text of the page in ``locale`` ("ru" or "en"), by key."""
    return {key: translate(locale, message) for key, message in PAGE_TEXTS.items()}


def render_index(locale: str) -> str:
    """``static/index.html`` in ``locale``: each ``{{key}}`` replaced by its text (HTML-escaped), ``{{lang}}`` by
    the locale, and ``window.TEXTS`` (the texts as JSON) set before the page's script. Raises KeyError for a
    placeholder that names no text (a test renders both languages)."""
    texts = page_texts(locale)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = PLACEHOLDER.sub(lambda m: locale if m[1] == "lang" else html.escape(texts[m[1]]), page)
    script = "<script>window.TEXTS = " + json.dumps(texts, ensure_ascii=False).replace("</", "<\\/") + ";</script>"
    return page.replace('<script src="/static/app.js"></script>', script + '\n<script src="/static/app.js"></script>')

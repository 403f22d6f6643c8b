"""The sandbox page in a real browser: headless Chromium (Debian's ``chromium`` package) driven by Playwright walks
the plain-incident scenario by clicks and typing, as a trainee would. A screenshot of the page is saved under
``tests/.artifacts/`` when the walk fails (and, with OTKLIK_SANDBOX_SCREENSHOT=FILE, of the finished walk there)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.server import Sandbox, serving

CHROMIUM = os.environ.get("OTKLIK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)", allow_module_level=True)


@pytest.fixture
async def browser_page(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The sandbox page open in headless Chromium."""
    sandbox = Sandbox(preset="otradnaya", speed=60, workdir=tmp_path)
    async with serving(sandbox, "127.0.0.1", 0) as url, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1900, "height": 1000})
            page.set_default_timeout(15_000)
            await page.goto(url)
            yield page
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def screenshot_on_failure(page: Any, name: str) -> AsyncIterator[None]:
    """A failure inside the block leaves a full-page screenshot in tests/.artifacts/NAME.png."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed walk: {shot}")
        raise


def chat(page: Any, person: str) -> Any:
    return page.locator(f'.chat[data-person="{person}"]')


async def press(page: Any, person: str, label: str) -> None:
    """Click the newest button with exactly this label in the person's chat (waiting for it to appear)."""
    button = chat(page, person).get_by_role("button", name=label, exact=True).last
    await button.wait_for()
    await button.click()


async def type_and_send(page: Any, person: str, text: str) -> None:
    await chat(page, person).locator("textarea").fill(text)
    await chat(page, person).locator("button.send").click()


async def step_done(page: Any, count: int) -> None:
    await page.locator("#steps li.done").nth(count - 1).wait_for()


async def test_a_trainee_walks_an_incident_from_registration_to_publication_in_the_browser(
    browser_page: Any, request: pytest.FixtureRequest
) -> None:
    page = browser_page
    async with screenshot_on_failure(page, request.node.name):
        await walk_the_plain_incident(page)


async def walk_the_plain_incident(page: Any) -> None:
    await page.locator("#scenario").select_option("plain")
    current = page.locator("#steps li.current")
    await current.wait_for()
    assert "Куратор" in await current.inner_text()
    assert "Отрадненский район" in await page.locator("#organisation").inner_text()
    assert "Europe/Moscow" in await page.locator("#clock").inner_text()

    await type_and_send(
        page, "curator", "https://vk.com/wall-1_101 Третий день не вывозят мусор у дома 5 по ул. Ленина"
    )
    await press(page, "curator", "Зарегистрировать")
    await step_done(page, 1)
    assert "Направить в подразделение" in await page.locator("#steps li.current").inner_text()
    await press(page, "curator", "Направить в подразделение")
    await chat(page, "curator").locator(".kb button", has_text="Управление ЖКХ").last.click()
    await chat(page, "curator").locator(".kb button", has_text="✅").last.wait_for()
    await press(page, "curator", "Направить")
    await step_done(page, 2)
    assert "Теперь исполнитель Иван Петров" in await page.locator("#steps li.current").inner_text()
    await press(page, "executor1", "Принять в работу")
    await step_done(page, 3)
    await press(page, "executor1", "Подготовить ответ")
    await type_and_send(
        page,
        "executor1",
        "Здравствуйте! Контейнерную площадку у дома 5 по ул. Ленина очистили 1 декабря, вывоз идёт по графику: "
        "понедельник, среда, пятница. Фотографии площадки приложены.",
    )
    # Work reported done, no photo attached: the draft pre-check advises before it goes to the curator.
    await press(page, "executor1", "Отправить как есть")
    await step_done(page, 4)
    await press(page, "curator", "Согласовать")
    await step_done(page, 5)
    await press(page, "executor1", "Размещено: отправить ссылку")
    await type_and_send(page, "executor1", "https://vk.com/wall-1_101?reply=5")
    await step_done(page, 6)
    await page.locator("#scenario-done").wait_for(state="visible")
    # The curator's card of the incident was edited in place up to its close.
    await chat(page, "curator").locator(".msg", has_text="Статус: ответ размещён").last.wait_for()
    target = os.environ.get("OTKLIK_SANDBOX_SCREENSHOT")
    if target:
        await page.screenshot(path=target)

"""/report answers at once and the outbox sender builds the report (bot.report_jobs): a second request of
the same report while it is prepared joins it, and a stop in the middle of building loses nothing."""

from __future__ import annotations

from pathlib import Path

from bot.outbox import OutboxSender
from storage.outbox import OutboxRepository
from tests.world import world


async def test_a_second_report_request_while_the_first_is_prepared_joins_it(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        w.clock.set(w.at("2026-04-02 10:00"))
        release = w.api.hold("sendDocument")  # the workbook is on its way: the report is still being sent
        await w.curator.send("/report 2026-03")
        await w.curator.wait_message(contains="Preparing the report for March 2026…")
        await w.until(lambda: len(w.api.calls("sendDocument")) == 1, timeout=60)
        await w.curator.send("/report 2026-03")
        await w.curator.wait_message(contains="The report for March 2026 is already being prepared")
        release()
        await w.settle()
        assert len(w.api.calls("sendDocument")) == 1 and len(w.api.calls("sendPhoto")) == 1
        await w.curator.send("/report 2026-03")  # delivered: asking again prepares it again
        await w.curator.wait_message(contains="Preparing the report for March 2026…")


async def test_a_report_cut_off_by_a_stop_is_built_again_after_the_restart_without_repeating_its_parts(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "otradnaya") as w:
        w.clock.set(w.at("2026-04-02 10:00"))
        release = w.api.hold("sendPhoto")  # the summary and the workbook are out, the chart is in flight
        await w.curator.send("/report 2026-03")
        await w.until(lambda: len(w.api.calls("sendPhoto")) == 1, timeout=60)
        await w.app.sender.stop(grace=0.2)  # the call in flight is cut off: its part may go again, the rest not
        release()
        async with w.app.services.sessions() as session:
            waiting = [m for m in await OutboxRepository(session).pending(10) if m.payload.get("kind") == "report"]
        assert len(waiting) == 1 and len(waiting[0].sent_parts or []) == 2  # summary and workbook recorded
        # A restarted sender (a new instance on the same database) builds the report again and sends the rest.
        again = OutboxSender(w.app.services.sessions, w.app.sender.deliver, w.clock, pacer=w.app.sender.pacer)
        assert await again.drain_once() == 1
        assert len(w.api.calls("sendDocument")) == 1  # not sent twice
        assert len(w.api.calls("sendPhoto")) == 2  # the chart cut off in flight goes again

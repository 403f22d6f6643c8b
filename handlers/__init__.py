"""Telegram handlers: one aiogram router per role or feature, handed to the dispatcher here."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    """Fresh routers for every dispatcher (a router can belong to only one), in the order they
    are asked: dialogs before the curator's catch-all intake, the fallback last."""
    from handlers import admin, card, common, dialogs, draft, intake, queue, report, revision, routing, templates

    return [
        common.build_router(),
        card.build_router(),
        routing.build_router(),
        revision.build_router(),
        draft.build_router(),
        dialogs.build_router(),
        queue.build_router(),
        admin.build_router(),
        report.build_router(),
        templates.build_router(),
        intake.build_router(),
        common.build_fallback_router(),
    ]

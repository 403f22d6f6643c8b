"""What a person's message carries besides text: its photo, video or document, as an Attachment to keep."""

from __future__ import annotations

from aiogram.types import Message

from bot.domain.incident import Attachment


def attachment_of(message: Message) -> Attachment | None:
    """The message's photo (its largest size), video or document; None when it has none of them."""
    if message.photo:
        best = message.photo[-1]
        return Attachment(best.file_id, "photo", best.file_unique_id)
    if message.video:
        return Attachment(message.video.file_id, "video", message.video.file_unique_id)
    if message.document:
        return Attachment(message.document.file_id, "document", message.document.file_unique_id)
    return None

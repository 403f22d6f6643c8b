"""Pure domain logic of Otklik: no Telegram, no SQL, no network (the project's new home for rules)."""

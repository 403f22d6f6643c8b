"""Gettext catalogs (``<locale>/LC_MESSAGES/messages.po``), a package so that an installed bot ships them.

Only ``.po`` files are kept here; ``bot.i18n.compiled_catalogs()`` compiles them in memory on first use.
"""

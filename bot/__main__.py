"""`python -m bot …`: the command line, in bot/cli.py."""

from bot.cli import main

raise SystemExit(main())

"""`python -m bot …`: the command line, in bot/cli.py."""

import os
import sys

from bot.cli import main

try:
    raise SystemExit(main())
except BrokenPipeError:  # `python -m bot calendar 2026 | head`: the reader left; that is no error
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(0) from None

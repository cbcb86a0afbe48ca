"""The one exception type for mistakes a user can make, and how scripts report it."""

import sys


class LitPoetryError(Exception):
    """A problem with the user's data, config, checkpoint or input, with a message saying what to do."""


def exit_with_error(error: Exception, code: int = 2) -> None:
    """Print a one-line error (no traceback) and exit: used by every entry script."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(code)

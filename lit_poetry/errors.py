"""The exception types for mistakes a user can make, and how scripts report them."""

import sys

ERROR_FILE = "error.json"  # {"type": "DivergedError", "message": "..."}: a failed multirun job's, in its folder


class LitPoetryError(Exception):
    """A problem with the user's data, config, checkpoint or input, with a message saying what to do."""


class DivergedError(LitPoetryError):
    """Training produced a non-finite loss: the run is over, a sweep goes on (and plotting marks it)."""


def exit_with_error(error: Exception, code: int = 2) -> None:
    """Print a one-line error (no traceback) and exit: used by every entry point (cli.py)."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(code)

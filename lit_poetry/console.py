"""Writing to a console that may not take every character, or may close early.

- A Chinese Windows console (GBK) lacks some characters the model writes (䴔): each is shown in its
  traditional form where the console has that, else as □, and a note on stderr names them; JSON escapes
  them (\\u4d14), which every JSON reader reads back as the character.
- `... | head -1` closes the pipe before the command has written everything: the rest is dropped quietly.
"""

import functools
import json
import os
import sys
from collections.abc import Callable

MISSING = "□"


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def for_console(text: str, stream=None) -> tuple[str, list[str]]:
    """`text` as `stream` (stdout) can print it, and the characters that had to be replaced."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    if _encodable(text, encoding):
        return text, []
    from lit_poetry.text import to_traditional

    shown, replaced = [], []
    for char in text:
        if _encodable(char, encoding):
            shown.append(char)
            continue
        other = to_traditional(char)
        shown.append(other if other != char and _encodable(other, encoding) else MISSING)
        replaced.append(char)
    return "".join(shown), replaced


def print_text(text: str) -> None:
    """Print on stdout whatever its encoding; a note on stderr names what it could not show."""
    shown, replaced = for_console(text)
    print(shown)
    if replaced:
        chars = " ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(replaced))  # stderr may lack them too
        print(f"note: this console's encoding ({sys.stdout.encoding}) lacks {chars}: shown in the traditional "
              "form where it has that, else as a box; set PYTHONIOENCODING=utf-8, or use output=json",
              file=sys.stderr)


def print_json(value) -> None:
    """JSON on stdout with Chinese as it is, except characters the console's encoding lacks (escaped)."""
    text = json.dumps(value, ensure_ascii=False)
    _, replaced = for_console(text)
    for char in dict.fromkeys(replaced):
        text = text.replace(char, json.dumps(char)[1:-1])  # ensure_ascii's escape: \u4d14
    print(text)


def closed_pipe_is_quiet(main: Callable) -> Callable:
    """An entry point that stops quietly (status 0 as far as its output went) when its reader closes the
    pipe early."""

    @functools.wraps(main)
    def run(*args, **kwargs):
        try:
            result = main(*args, **kwargs)
            sys.stdout.flush()  # here, not at exit, where a closed pipe is an error no handler sees
            return result
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit: no error
            sys.exit(0)

    return run

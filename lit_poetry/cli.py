"""Command-line helpers shared by the entry scripts."""

import re
import sys
from pathlib import Path

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")  # the Hydra configs beside the package

_OVERRIDE = re.compile(r"^([+~]{0,2}[\w.@/-]+)=(.*)$", re.S)


def _quote(item: str) -> str:
    item = item.strip()
    return item if not item or item[0] in "'\"" else f"'{item}'"


def quote_unicode_overrides(argv: list[str] | None = None) -> None:
    """Let `start=日` and `start=[日,红,山]` through Hydra's override grammar, which only takes non-ASCII
    characters inside quotes: such values (and list items) are quoted in place in sys.argv."""
    argv = sys.argv if argv is None else argv
    for k, arg in enumerate(argv[1:], start=1):
        match = _OVERRIDE.match(arg)
        if not match or arg.isascii():
            continue
        key, value = match.groups()
        if value.startswith("[") and value.endswith("]"):
            value = "[" + ",".join(_quote(v) for v in value[1:-1].split(",")) + "]"
        else:
            value = _quote(value)
        argv[k] = f"{key}={value}"

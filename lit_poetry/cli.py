"""The one wrapper every command (lit_poetry/commands/) goes through, Hydra's and the small tools' alike:

- every command takes `key=value` (Hydra's overrides; for the small tools `parse_arguments` reads
  `out=fig` as `--out fig`, so `--out fig` works too);

- `start=日` and `start=[日,红,山]` pass Hydra's override grammar (it takes non-ASCII only in quotes), and
  so do paths with `=` in them (`ckpt_path=.../epoch=2-step=40.ckpt`, as Lightning names checkpoints);
- an override whose key or group option no config knows (a typo) is one line naming the nearest
  (config_keys.py), before Hydra composes;
- a `LitPoetryError` prints one `error: ...` line and exits with status 2, no traceback; so does a run
  folder (`hydra.run.dir=`, `hydra.sweep.dir=`) that cannot be made, before Hydra tries;
- the configs' `${lit_poetry.*:}` resolvers (resolvers.py) are registered before any config is composed;
- in a multirun (a sweep), a job that fails that way is recorded in its folder's error.json and scores
  `inf`, so the sweep goes on and the sweeper (which refuses NaN) sees the worst possible value.
"""

import argparse
import errno
import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from lit_poetry.config_keys import check_override_keys
from lit_poetry.console import closed_pipe_is_quiet
from lit_poetry.errors import ERROR_FILE, LitPoetryError, exit_with_error
from lit_poetry.resolvers import in_multirun, register_resolvers
from lit_poetry.resources import CONFIG_DIR

_OVERRIDE = re.compile(r"^([+~]{0,2}[\w.@/-]+)=(.*)$", re.S)


def _quote(item: str) -> str:
    item = item.strip()
    return item if not item or item[0] in "'\"" else f"'{item}'"


def quote_unicode_overrides(argv: list[str] | None = None) -> None:
    """Quote non-ASCII override values (and list items) in place in sys.argv."""
    argv = sys.argv if argv is None else argv
    for k, arg in enumerate(argv[1:], start=1):
        match = _OVERRIDE.match(arg)
        if not match:
            continue
        key, value = match.groups()
        if arg.isascii() and not ("=" in value and key.split(".")[-1].endswith("path")):
            continue  # `ckpt_path=.../epoch=2-step=40.ckpt`, Lightning's names, are quoted too
        if value.startswith("[") and value.endswith("]"):
            value = "[" + ",".join(_quote(v) for v in value[1:-1].split(",")) + "]"
        else:
            value = _quote(value)
        argv[k] = f"{key}={value}"


DISK_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}


def as_user_error(error: Exception) -> LitPoetryError | None:
    """A user's mistake as its one line: a LitPoetryError as it is; a file the machine would not let a
    command write (full disk, quota, read-only or foreign folder: the metrics, the data cache, a log)
    named with what to do; None for anything else (a bug: its traceback is wanted)."""
    if isinstance(error, LitPoetryError):
        return error
    if isinstance(error, OSError) and error.errno in DISK_ERRORS:
        verb = "open" if error.errno == errno.EACCES else "write"  # EACCES: a read can be refused too
        return LitPoetryError(f"could not {verb} {error.filename or 'a file'} ({DISK_ERRORS[error.errno]}): free "
                              "space or give the command another folder (hydra.run.dir=..., paths.cache_dir=...); "
                              "the files written before are intact")
    return None


def guarded(main: Callable) -> Callable:
    """An entry point whose user errors (`as_user_error`) end in one line and exit status 2."""

    @closed_pipe_is_quiet
    @functools.wraps(main)
    def run(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except (LitPoetryError, OSError) as e:
            if (error := as_user_error(e)) is None:
                raise
            exit_with_error(error)

    return run


class KeyValueParser(argparse.ArgumentParser):
    """The small tools' parser: argparse, keeping for each option what `key=value` needs to know (argparse
    keeps it only in private attributes): its names, and whether it is a flag."""

    def __init__(self, **kwargs):
        self.flags: dict[str, bool] = {}  # "--target-loss" -> False; "--tie" -> True (before __init__ adds --help)
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        self.flags.update(dict.fromkeys(action.option_strings, action.nargs == 0))
        return action


def parse_arguments(parser: KeyValueParser, argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments of a small tool (plot, metre, download, numpy-train, gradcheck) as every command takes
    them: `key=value` means `--key value` (`target_loss=` is `--target-loss`; `tie=true` sets a flag)."""
    options = parser.flags
    rewritten = []
    for arg in sys.argv[1:] if argv is None else argv:
        key, eq, value = arg.partition("=")
        option = "--" + key.replace("_", "-")
        if not eq or arg.startswith("-") or not re.fullmatch(r"[a-z][a-z_-]*", key) or option not in options:
            rewritten.append(arg)  # a positional (a poem, a folder), or --key value as it is
        elif options[option]:  # a flag (store_true)
            if value.lower() not in ("true", "false"):
                raise LitPoetryError(f"{key}={value}: give {key}=true or {key}=false")
            rewritten += [option] if value.lower() == "true" else []
        else:
            rewritten.append(f"{option}={value}")
    return parser.parse_args(rewritten)


def _record_failed_job(error: LitPoetryError) -> float:
    from hydra.core.hydra_config import HydraConfig

    print(f"error: {error}", file=sys.stderr)
    record = {"type": type(error).__name__, "message": str(error)}
    Path(HydraConfig.get().runtime.output_dir, ERROR_FILE).write_text(json.dumps(record, ensure_ascii=False),
                                                                      encoding="utf-8")
    return math.inf


def check_run_dirs(argv: list[str]) -> None:
    """A `hydra.run.dir=` / `hydra.sweep.dir=` given on the command line must be a folder this process can
    make: its nearest existing ancestor a writable folder. (Hydra's own failure is a traceback.)"""
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+") not in ("hydra.run.dir", "hydra.sweep.dir") or "${" in value:
            continue
        folder = Path(value.strip("'\"")).expanduser().absolute()
        ancestor = next(p for p in (folder, *folder.parents) if p.exists())
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise LitPoetryError(f"{key}={value} cannot be made: {ancestor} is not a folder this user can write "
                                 f"in; give {key}= a writable folder")


def hydra_command(config_name: str) -> Callable[[Callable], Callable[[], object]]:
    """`@hydra_command("train") def task(cfg): ...` gives `main()`, the entry point of a Hydra command
    reading configs/<config_name>.yaml. Heavy imports belong inside `task`, so `--help` stays fast."""
    import hydra

    def decorate(task: Callable) -> Callable[[], object]:
        @functools.wraps(task)
        def run_task(cfg):
            try:
                return closed_pipe_is_quiet(task)(cfg)  # inside: Hydra would report the error as a job's
            except (LitPoetryError, OSError) as e:
                if (error := as_user_error(e)) is None:
                    raise
                if in_multirun():  # one failed job must not end the sweep
                    return _record_failed_job(error)
                exit_with_error(error)

        hydra_main = hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(run_task)

        @closed_pipe_is_quiet  # Hydra's own output too (--help, --cfg job)
        @functools.wraps(task)
        def main():
            register_resolvers()
            quote_unicode_overrides()
            try:
                check_run_dirs(sys.argv[1:])
                check_override_keys(config_name, sys.argv[1:])
            except LitPoetryError as e:
                exit_with_error(e)
            return hydra_main()

        return main

    return decorate

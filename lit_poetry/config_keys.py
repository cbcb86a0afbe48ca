"""The keys and group options a command's configs know, read from configs/ before Hydra composes: a
typo (`optimzer=adam`, `model.hidden_sise=256`, `optimizer=adma`) is one `error:` line naming the nearest
known ones, not Hydra's block (whose advice, `+optimzer=adam`, is wrong for a typo).

Known keys are the union over the command's primary config and every option of every group it lists,
each at its package (`# @package _global_` at the root, else under the group's path): a key that some
option defines passes here, unless the command line chooses an option of that group that lacks it
(`model=transformer model.hidden_size=256`); Hydra still decides the rest. Keys prefixed `+`, `++` and
`hydra.` pass.
"""

import difflib
import itertools
import re
from functools import cache
from pathlib import Path

import yaml

from lit_poetry.errors import LitPoetryError
from lit_poetry.resources import CONFIG_DIR

GLOBAL = "# @package _global_"
LIST_ITEMS = ".<items>"
OTHER_SOURCES = ("-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir", "-sc", "--shell-completion",
                 "hydra.searchpath")  # another config, another folder, or not a run: left to Hydra
# keys of earlier versions, and what took their place
MOVED = {"model.impl": "the network is a config group now: model=lstm (autograd), model=fused_lstm or model=torch_lstm"}
OPTION = re.compile(r"[\w.-]+")  # a plain option name; glob(), [a,b], choice() and sweeps are Hydra's


def _flatten(node: dict, prefix: str, into: set[str]) -> None:
    for key, value in node.items():
        if key == "defaults" or not isinstance(key, str):
            continue
        path = f"{prefix}{key}"
        into.add(path)
        if isinstance(value, dict):
            _flatten(value, path + ".", into)
        elif isinstance(value, list):  # its items: tags.0=...
            into.add(path + LIST_ITEMS)


def _read(path: Path) -> tuple[dict, bool]:
    text = path.read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines() if line.strip())
    leading = list(itertools.takewhile(lambda line: line.startswith("#"), lines))  # Hydra reads the header there
    return yaml.safe_load(text) or {}, GLOBAL in leading


def _groups_of(config: dict) -> list[str]:
    """The groups a defaults list names (`- data: tangshi`, `- override /data: tang_song`)."""
    groups = []
    for entry in config.get("defaults") or []:
        if isinstance(entry, dict):
            for key in entry:
                group = key.removeprefix("override ").strip().strip("/")
                if group and not group.startswith("hydra") and "@" not in group:
                    groups.append(group)
    return groups


@cache
def known(config_name: str, config_dir: str = CONFIG_DIR) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """(every key path, {group: its options}) for configs/<config_name>.yaml."""
    root = Path(config_dir)
    primary, _ = _read(root / f"{config_name}.yaml")
    keys: set[str] = set()
    _flatten(primary, "", keys)
    options: dict[str, tuple[str, ...]] = {}
    todo = _groups_of(primary)
    while todo:
        group = todo.pop()
        if group in options or not (root / group).is_dir():
            continue
        files = sorted((root / group).glob("*.yaml"))
        options[group] = tuple(f.stem for f in files)
        for f in files:
            config, is_global = _read(f)
            _flatten(config, "" if is_global else group.replace("/", ".") + ".", keys)
            todo += _groups_of(config)
    return frozenset(keys | set(options)), options


@cache
def option_keys(group: str, option: str, config_dir: str = CONFIG_DIR) -> frozenset[str] | None:
    """The keys configs/<group>/<option>.yaml sets, with those of the options of its group it builds on
    (`defaults: [lstm]`); None for an option at the root package or one that is not a file."""
    path = Path(config_dir) / group / f"{option}.yaml"
    if not path.is_file():
        return None
    config, is_global = _read(path)
    if is_global:
        return None
    keys: set[str] = set()
    _flatten(config, group.replace("/", ".") + ".", keys)
    for base in config.get("defaults") or []:
        if isinstance(base, str) and base != "_self_":
            keys |= option_keys(group, base, config_dir) or set()
    return frozenset(keys)


QUOTES = "'\""  # cli.quote_unicode_overrides quotes values with characters outside ASCII


@cache
def default_choices(config_name: str, config_dir: str = CONFIG_DIR) -> dict[str, str]:
    """{group: option} as the command's primary config chooses them (`- model: lstm`)."""
    primary, _ = _read(Path(config_dir) / f"{config_name}.yaml")
    return {k: v for entry in primary.get("defaults") or [] if isinstance(entry, dict)
            for k, v in entry.items() if isinstance(v, str) and not k.startswith("override")}


def chosen_options(config_name: str, argv: list[str], options: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{group: option} chosen on the command line, else by the primary config; the command line's alone when
    it names an option that may override groups (an experiment, at the root package): then Hydra decides."""
    given = {k.lstrip("+").removeprefix("override ").strip("/"): v.strip(QUOTES)
             for k, _, v in (a.partition("=") for a in argv if "=" in a)}
    rerouted = any(g in options and v in options[g] and option_keys(g, v) is None for g, v in given.items())
    return given if rerouted else {**default_choices(config_name), **given}


def _missing_in_chosen(key: str, chosen: dict[str, str], options: dict[str, tuple[str, ...]]) -> str:
    """The error for `key` where the chosen option of its group does not set it."""
    for group in options:
        option = chosen.get(group, "")
        if key.startswith(group.replace("/", ".") + ".") and option in options[group]:
            keys = option_keys(group, option)
            if keys is not None and key not in keys:
                names = sorted(k.removeprefix(group + ".") for k in keys if "._" not in f".{k}")
                return (f"{key}: {group}={option} has no such setting; its settings are {', '.join(names)}"
                        f"{_nearest(key.rpartition('.')[2], names, group + '.')}")
    return ""


def _nearest(word: str, choices, prefix: str = "") -> str:
    near = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(prefix + n for n in near)}?" if near else ""


HYDRA_FLAGS = ("help", "hydra-help", "version", "cfg", "resolve", "package", "run", "multirun", "shell-completion",
               "config-path", "config-name", "config-dir", "info", "experimental-rerun")


def check_flags(argv: list[str], keys: frozenset[str]) -> None:
    """`--start 月` is argparse's style; here settings are key=value (Hydra would print its usage block).
    The key is the config's own: --max_epochs is trainer.max_epochs."""
    for k, arg in enumerate(argv):
        name, eq, value = arg.removeprefix("--").partition("=")
        if not arg.startswith("--") or not name or name in HYDRA_FLAGS:
            continue
        following = argv[k + 1] if k + 1 < len(argv) else "-"
        value = value if eq else following if "=" not in following and not following.startswith("-") else "..."
        named = sorted(key for key in keys if key == name or key.endswith(f".{name}"))
        key = named[0] if len(named) == 1 else name
        raise LitPoetryError(f"--{name}: settings are written key=value, here {key}={value.strip(QUOTES)} "
                             "(--help lists them)")


def check_override_keys(config_name: str, argv: list[str]) -> None:
    """One LitPoetryError for the first override whose key, or group option, no config of the command knows."""
    keys, options = known(config_name)
    check_flags(argv, keys)
    if any(a.split("=")[0].lstrip("+") in OTHER_SOURCES for a in argv):
        return
    chosen = chosen_options(config_name, argv, options)
    for arg in argv:
        key, eq, value = arg.partition("=")
        value = value.strip(QUOTES)
        if not eq or arg.startswith("-") or key.startswith("+") or key.lstrip("~").startswith("hydra"):
            continue
        key = key.lstrip("~").removeprefix("override ").strip("/")
        if key in MOVED:
            raise LitPoetryError(f"{key}={value}: {key} is gone; {MOVED[key]}")
        if key in options:  # a group choice: optimizer=adam
            if OPTION.fullmatch(value) and value != "null" and value not in options[key]:
                raise LitPoetryError(f"{key}={value}: there is no such {key}; choose one of "
                                     f"{', '.join(options[key])}{_nearest(value, options[key])}")
        elif key not in keys and not any(key.startswith(k.removesuffix(LIST_ITEMS) + ".") for k in keys
                                         if k.endswith(LIST_ITEMS)):
            where, _, name = key.rpartition(".")
            siblings = [k.rpartition(".")[2] for k in keys if k.rpartition(".")[0] == where and "._" not in f".{k}"
                        and not k.endswith(LIST_ITEMS)]
            plain = [k for k in keys if not k.endswith(LIST_ITEMS)]
            hint = _nearest(name, siblings, f"{where}." if where else "") or _nearest(key, plain)
            raise LitPoetryError(f"{key}={value}: no config of this command has the key '{key}'{hint} (a new key "
                                 f"is +{key}=...)")
        elif missing := _missing_in_chosen(key, chosen, options):
            raise LitPoetryError(missing)

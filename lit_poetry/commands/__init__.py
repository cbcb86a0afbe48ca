"""Every command of lit-poetry, one module each: the command line is read here, the work is done by the
library modules, which have no `main`. A command has one name everywhere: `python -m lit_poetry <name>`,
the console script `lit-poetry-<name>`, its module lit_poetry/commands/<name>.py (numpy-train:
numpy_train.py) and, for those Hydra composes, configs/<name>.yaml. Every command takes `key=value`.

    Hydra (composed configs, overrides, multirun): train, generate, app (also train.py, generate.py and
    app.py at the top of the repository), evaluate, export, stats
    small tools (argparse; key=value is read as --key value): plot, metre, download, numpy-train, gradcheck

Only the standard library is imported here, so `python -m lit_poetry` lists the commands at once.
"""

import importlib
import sys

COMMANDS = {
    "train": "train a language model (Lightning, Hydra configs)",
    "generate": "write poems from a checkpoint or the shipped model",
    "app": "the local page to write poems (pip install -e '.[web]')",
    "evaluate": "a checkpoint's perplexity and the quality and metre of its poems",
    "export": "a checkpoint as a small int8 file to ship",
    "stats": "corpus statistics: poems kept and dropped, vocabulary, lengths",
    "plot": "curves and a summary table of several runs",
    "metre": "check a poem's tones and rhymes (平仄, 平水韵)",
    "download": "fetch the chinese-poetry corpora into the data directory",
    "numpy-train": "train the NumPy LSTM with a NumPy optimizer",
    "gradcheck": "numerical gradient check of the NumPy LSTM's backward pass",
}


def module_of(name: str):
    return importlib.import_module(f"lit_poetry.commands.{name.replace('-', '_')}")


def main() -> None:
    """`python -m lit_poetry <command> key=value ...`; without a command, the list of them."""
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        width = max(map(len, COMMANDS))
        unknown = len(sys.argv) > 1 and sys.argv[1] not in ("-h", "--help")
        print("usage: python -m lit_poetry <command> [key=value ...]   (<command> --help: its settings)\n\n"
              + "\n".join(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()),
              file=sys.stderr if unknown else sys.stdout)
        if unknown:
            print(f"error: no command '{sys.argv[1]}'; the commands are listed above", file=sys.stderr)
            sys.exit(2)
        return
    name = sys.argv.pop(1)
    sys.argv[0] = f"lit_poetry {name}"
    code = module_of(name).main()
    sys.exit(code if isinstance(code, int) else 0)  # the Hydra commands return nothing, or a sweep's value

"""Where the package's own files are, in a checkout and in an installed wheel alike."""

from pathlib import Path

from lit_poetry.errors import LitPoetryError

_PACKAGE = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The Hydra configs: the copy installed inside the package (a wheel), else a checkout's configs/."""
    for candidate in (_PACKAGE / "configs", _PACKAGE.parent / "configs"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise LitPoetryError(f"no Hydra configs beside {_PACKAGE}: reinstall lit-poetry (pip install .) "
                         "or run from a checkout that has configs/")


CONFIG_DIR = str(config_dir())

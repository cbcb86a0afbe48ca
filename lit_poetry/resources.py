"""Where the package's own files are, in a checkout and in an installed wheel alike, and where it caches."""

import os
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
SHIPPED_MODEL = _PACKAGE / "assets" / "tang.pt"  # generate.py, the page and evaluate use it without ckpt_path


def user_cache_dir() -> Path:
    """Where what is built once per machine is kept: $LIT_POETRY_CACHE, else ~/.cache/lit_poetry."""
    return Path(os.environ.get("LIT_POETRY_CACHE") or Path.home() / ".cache" / "lit_poetry")

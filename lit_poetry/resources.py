"""Where the package's own files are, in a checkout and in an installed wheel alike, where it caches, and
how it writes a file that others may be reading (atomic_path)."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def cache_home() -> Path:
    """The user's cache folder: $XDG_CACHE_HOME, else ~/.cache (the XDG convention)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def user_cache_dir() -> Path:
    """Where what is built once per machine is kept (processed corpora, the tone table, the compiled kernel):
    $LIT_POETRY_CACHE, else <cache_home()>/lit_poetry. The one place this is decided (paths.cache_dir reads
    it through `${lit_poetry.cache_dir:}`)."""
    return Path(os.environ.get("LIT_POETRY_CACHE") or cache_home() / "lit_poetry")


def _umask() -> int:
    mask = os.umask(0)  # reading it means setting it: set it back at once
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A fresh temporary path beside `path` (a name of its own, so that two processes never share one) to
    write to; when the block ends without error it is flushed to disk and renamed over `path`, which readers
    then see whole (os.replace is atomic within a filesystem): the old file or the new, never half of one.
    On an error the temporary file is removed and `path` is as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is its owner's alone; a file written in place is not
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

"""Fetch the chinese-poetry corpora (全唐诗 and its 平仄, 全宋诗, 唐诗三百首) from npm into the data directory.

    python -m lit_poetry download                          # into $LIT_POETRY_DATA, else ~/.cache/lit_poetry/data
    python -m lit_poetry download data_dir=~/poetry      # then: python train.py data=tang data.data_dir=~/poetry
    python -m lit_poetry download tarball=chinese-poetry-2.0.1.tgz   # offline: `npm pack` it elsewhere

Training does this by itself on first use of `data=tang` / `data=tang300` / `data=tang_song` (`ensure_corpus`,
called by the DataModule's prepare_data: one process per node); `data.download=false` turns that off.

Downloads chinese-poetry@2.0.1 (85 MB), checks its SHA-1 against the registry's, and extracts only the
corpus files, into a temporary folder first: an interrupted or failed run leaves nothing half-written.
The small handout corpus (nndl/tangshi.txt) is not on npm; it ships inside the package.
"""

import contextlib
import fnmatch
import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

from lit_poetry.data.corpora import CORPORA, default_data_dir, named_corpus_files, where_looked
from lit_poetry.errors import LitPoetryError

log = logging.getLogger(__name__)

TARBALL_URL = "https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz"
TARBALL_SHA1 = "b6e7e60d0accac7c723d066a5c360549aab8299d"  # the registry's dist.shasum for 2.0.1
# tarball members (glob) -> folder under the data directory (the layout corpora.CORPORA reads); the
# package's 宋词 and other collections are left out
MEMBERS = {
    "package/dist/quantangshi/poet.tang.*.json": "chinese-poetry/quantangshi",
    "package/dist/quantangshi/poet.song.*.json": "chinese-poetry/quantangshi",
    "package/dist/quantangshi/authors.tang.json": "chinese-poetry/quantangshi",
    "package/dist/mengxue/tangshisanbaishou.json": "chinese-poetry/mengxue",
    "package/dist/strains/json/poet.tang.*.json": "chinese-poetry/strains",
    "package/LICENSE": "chinese-poetry",
}
REQUIRED = ("chinese-poetry/quantangshi/", "chinese-poetry/mengxue/tangshisanbaishou.json")


def _progress(done: int, total: int | None) -> None:
    size = f"{done / 1e6:.1f}" + (f" / {total / 1e6:.1f} MB ({done / total:.0%})" if total else " MB")
    print(f"\rdownloading chinese-poetry@2.0.1: {size}", end="", file=sys.stderr, flush=True)


def fetch(url: str, dest: Path, sha1: str, progress: bool = False) -> Path:
    """Download url to dest, verifying its SHA-1; dest exists only if the download is complete and right."""
    digest, tmp, done = hashlib.sha1(), dest.with_suffix(dest.suffix + ".part"), 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
                done += len(chunk)
                if progress:
                    _progress(done, total)
        if progress:
            print(file=sys.stderr)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LitPoetryError(f"could not download {url} ({e}); fetch it by hand: `npm pack chinese-poetry@2.0.1` "
                             "where there is internet, then `python -m lit_poetry download "
                             "tarball=chinese-poetry-2.0.1.tgz [data_dir=DIR]`") from None
    if digest.hexdigest() != sha1:
        tmp.unlink()
        raise LitPoetryError(f"{url}: SHA-1 {digest.hexdigest()} is not the expected {sha1}; nothing was written")
    tmp.replace(dest)
    return dest


def extract(tarball: Path, data_dir: Path) -> list[Path]:
    """Copy the corpus members of an npm chinese-poetry tarball into data_dir; returns the files written."""
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".download-"))
    written = []
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                target = next((f"{folder}/{PurePosixPath(member.name).name}" for pattern, folder in MEMBERS.items()
                               if member.isfile() and fnmatch.fnmatch(member.name, pattern)), None)
                if target is None:
                    continue
                out = staging / target
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src_file, open(out, "wb") as dst_file:
                    shutil.copyfileobj(src_file, dst_file)
                written.append(target)
        missing = [r for r in REQUIRED if not any(w.startswith(r) for w in written)]
        if missing:
            raise LitPoetryError(f"{tarball} holds no {', '.join(missing)}: not a chinese-poetry 2.x tarball")
        for target in written:  # all extracted: now move into place
            (data_dir / target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / target, data_dir / target)
    except tarfile.TarError as e:
        raise LitPoetryError(f"{tarball} is not a readable .tgz ({e})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [data_dir / t for t in written]


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Hold an exclusive lock on lock_path: of several processes (DDP ranks), one downloads, the rest wait."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as f:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def download(data_dir: Path, tarball: Path | None = None, url: str | None = None, progress: bool = True) -> list[Path]:
    """Fetch (unless a tarball is given), check and extract the chinese-poetry corpora into data_dir."""
    with tempfile.TemporaryDirectory() as tmp:
        tarball = tarball or fetch(url or TARBALL_URL, Path(tmp) / "chinese-poetry-2.0.1.tgz", TARBALL_SHA1, progress)
        return extract(tarball, data_dir)


def ensure_corpus(corpus: str, data_dir: str | os.PathLike | None, allow_download: bool = True) -> None:
    """Make sure a named downloadable corpus is under data_dir, downloading it once if allowed.
    Other names (the built-in corpus, file paths) are left to the readers."""
    spec = CORPORA.get(corpus)
    given = bool(data_dir)
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if spec is None or not spec.downloadable or named_corpus_files(corpus, data_dir):
        return
    if not allow_download:
        where = f"{data_dir} (data.data_dir)" if given else where_looked(data_dir)
        raise LitPoetryError(f"corpus '{corpus}' is not under {where} and data.download=false; point "
                             "data.data_dir= or $LIT_POETRY_DATA at the folder holding chinese-poetry/, or drop "
                             "data.download=false to download it (85 MB) once")
    with _exclusive(data_dir / ".download.lock"):
        if named_corpus_files(corpus, data_dir):  # another process fetched it while this one waited
            return
        log.info("corpus '%s' is not under %s: downloading chinese-poetry@2.0.1 (85 MB) once", corpus, data_dir)
        files = download(data_dir)
        log.info("wrote %d files under %s", len(files), data_dir / "chinese-poetry")

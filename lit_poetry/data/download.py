"""Fetch the chinese-poetry corpora (全唐诗, 唐诗三百首, their 平仄) from the npm registry into the data directory.

    python -m lit_poetry.data.download                          # into $LIT_POETRY_DATA, else ./data
    python -m lit_poetry.data.download --data-dir ~/poetry      # then: python train.py data=tang data.data_dir=~/poetry

Downloads chinese-poetry@2.0.1 (85 MB), checks its SHA-1 against the registry's, and extracts only the
corpus files, into a temporary folder first: an interrupted or failed run leaves nothing half-written.
The small handout corpus (nndl/tangshi.txt) is not on npm: see CORPORA["tangshi"].hint.
"""

import argparse
import fnmatch
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

from lit_poetry.cli import guarded
from lit_poetry.data.corpora import CORPORA, default_data_dir
from lit_poetry.errors import LitPoetryError

TARBALL_URL = "https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz"
TARBALL_SHA1 = "b6e7e60d0accac7c723d066a5c360549aab8299d"  # the registry's dist.shasum for 2.0.1
# tarball members (glob) -> folder under the data directory (the layout corpora.CORPORA reads); the
# package also holds Song poetry, which is left out
MEMBERS = {
    "package/dist/quantangshi/poet.tang.*.json": "chinese-poetry/quantangshi",
    "package/dist/quantangshi/authors.tang.json": "chinese-poetry/quantangshi",
    "package/dist/mengxue/tangshisanbaishou.json": "chinese-poetry/mengxue",
    "package/dist/strains/json/poet.tang.*.json": "chinese-poetry/strains",
    "package/LICENSE": "chinese-poetry",
}
REQUIRED = ("chinese-poetry/quantangshi/", "chinese-poetry/mengxue/tangshisanbaishou.json")


def fetch(url: str, dest: Path, sha1: str) -> Path:
    """Download url to dest, verifying its SHA-1; dest exists only if the download is complete and right."""
    digest, tmp = hashlib.sha1(), dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LitPoetryError(f"could not download {url} ({e}); fetch it by hand with "
                             "`npm pack chinese-poetry@2.0.1` and pass --tarball") from None
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


@guarded
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None, help="default: $LIT_POETRY_DATA, else ./data")
    ap.add_argument("--tarball", type=Path, default=None, help="a chinese-poetry-2.0.1.tgz you already have")
    ap.add_argument("--url", default=TARBALL_URL)
    args = ap.parse_args(argv)
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch(args.url, Path(tmp) / "chinese-poetry-2.0.1.tgz", TARBALL_SHA1)
        files = extract(tarball, data_dir)
    print(f"wrote {len(files)} files under {data_dir.resolve()}/chinese-poetry (corpora tang, tang300)")
    if not (data_dir / CORPORA["tangshi"].pattern).is_file():
        print(f"the small corpus is not on npm: {CORPORA['tangshi'].hint}")


if __name__ == "__main__":
    main()

"""Corpus readers: a corpus name or a file path -> a list of raw `Poem`s.

Two formats are read:
- plain text (the handout `tangshi.txt`): poems separated by blank lines, verse lines may wrap;
- chinese-poetry JSON: any nesting of lists/dicts in which a poem is a dict with `paragraphs`
  (全唐诗 `poet.tang.*.json` is a flat list, 唐诗三百首 is nested by form).
The chinese-poetry corpora are traditional Chinese and are converted to simplified with OpenCC
(`t2s`) before parsing; cleaning is `cleaning.py`'s job.

Where the files are: the data directory (`data.data_dir=`, else `$LIT_POETRY_DATA`, else ../shared/data
beside a source checkout when it holds chinese-poetry/, else a user cache folder, ~/.cache/lit_poetry/data).
The small corpus also ships inside the package (builtin/), read when the data directory has no copy of
it; the chinese-poetry corpora download into the data directory on first use (download.py, called by the
DataModule's prepare_data).
"""

import glob
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lit_poetry.errors import LitPoetryError
from lit_poetry.resources import cache_home
from lit_poetry.text import to_simplified

NPM_HINT = (
    "training downloads it on first use (data.download=true, the default); by hand: "
    "`python -m lit_poetry download data_dir=<data_dir>` (chinese-poetry@2.0.1 from npm), or, offline, "
    "`npm pack chinese-poetry@2.0.1` elsewhere and `python -m lit_poetry download tarball=<file>`"
)
BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass(frozen=True)
class CorpusSpec:
    pattern: str  # glob relative to the data directory
    hint: str  # how a user gets the files
    builtin: Path | None = None  # the copy inside the package, read when the data directory has none
    downloadable: bool = False  # download.py can fetch it


CORPORA = {
    "tangshi": CorpusSpec("nndl/tangshi.txt", "it ships with the package", builtin=BUILTIN_DIR / "tangshi.txt"),
    "tang300": CorpusSpec("chinese-poetry/mengxue/tangshisanbaishou.json", NPM_HINT, downloadable=True),
    "tang": CorpusSpec("chinese-poetry/quantangshi/poet.tang.*.json", NPM_HINT, downloadable=True),
    "song": CorpusSpec("chinese-poetry/quantangshi/poet.song.*.json", NPM_HINT, downloadable=True),  # 全宋诗
}


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    lines: tuple[str, ...]  # verse lines as published (a JSON paragraph, or one sentence of a text poem)

    @property
    def text(self) -> str:
        return "".join(self.lines)


CHECKOUT = Path(__file__).resolve().parents[2]  # a source checkout's root (an installed wheel has no setup.py)


def data_dir_places() -> list[tuple[str, Path | None]]:
    """Where the corpora are looked for when `data.data_dir` is not given, in order: $LIT_POETRY_DATA;
    ../shared/data beside a source checkout (where the Makefile and the tests look too), when it holds
    chinese-poetry/; the user cache folder (`cache_home()`: $XDG_CACHE_HOME, else ~/.cache)/lit_poetry/data."""
    env = os.environ.get("LIT_POETRY_DATA")
    beside = CHECKOUT.parent / "shared" / "data" if (CHECKOUT / "setup.py").is_file() else None
    cache = cache_home() / "lit_poetry" / "data"
    return [("$LIT_POETRY_DATA", Path(env).expanduser() if env else None),
            ("../shared/data beside the checkout", beside if beside and (beside / "chinese-poetry").is_dir() else None),
            ("the user cache", cache)]


def default_data_dir() -> Path:
    """The first of `data_dir_places` that is set."""
    return next(path for _, path in data_dir_places() if path is not None)


def where_looked(data_dir: Path) -> str:
    """For an error: the folder read, and why that one (the places that were not set)."""
    unset = [name for name, path in data_dir_places() if path is None]
    return f"{data_dir.resolve()}" + (f" ({', '.join(unset)}: not set or absent)" if unset else "")


def named_corpus_files(corpus: str, data_dir: Path) -> list[Path]:
    """The files of a named corpus under data_dir, sorted ([] when there are none)."""
    return sorted(Path(p) for p in glob.glob(str(data_dir / CORPORA[corpus].pattern)))


def corpus_files(corpus: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The files of a named corpus (or a path / glob given instead of a name), sorted."""
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if corpus in CORPORA:
        spec = CORPORA[corpus]
        files = named_corpus_files(corpus, data_dir)
        if not files and spec.builtin:
            return [spec.builtin]
        if not data_dir.is_dir():
            raise LitPoetryError(
                f"data directory {data_dir.resolve()} does not exist; point `data.data_dir=` or "
                f"$LIT_POETRY_DATA at the folder holding the corpora ({corpus}: {spec.hint})"
            )
        if not files:
            raise LitPoetryError(f"corpus '{corpus}': no file matches {data_dir.resolve() / spec.pattern}; {spec.hint}")
        return files
    files = sorted(Path(p) for p in glob.glob(corpus))
    if files:
        return files
    if any(sep in corpus for sep in "/\\.*"):
        raise LitPoetryError(f"corpus file '{corpus}' not found")
    raise LitPoetryError(f"unknown corpus '{corpus}': use one of {', '.join(CORPORA)} or a path to a .txt/.json file")


def read_corpus(corpus: str, data_dir: str | os.PathLike | None = None, t2s: bool | None = None) -> list[Poem]:
    """All poems of a corpus. `t2s=None` converts JSON (chinese-poetry, traditional) and leaves text files."""
    poems = []
    for path in corpus_files(corpus, data_dir):
        is_json = path.suffix == ".json"
        text = _read_text(path)
        if t2s if t2s is not None else is_json:
            text = to_simplified(text)  # JSON keys are ASCII, which OpenCC leaves untouched
        poems.extend(_parse_json(text, path) if is_json else _parse_text(text))
    return poems


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise LitPoetryError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def _parse_json(text: str, path: Path) -> list[Poem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LitPoetryError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    poems: list[Poem] = []
    _collect_poems(data, poems)
    if not poems:
        raise LitPoetryError(f"{path} holds no poem (expected objects with a 'paragraphs' list)")
    return poems


def _collect_poems(node, out: list[Poem]) -> None:
    if isinstance(node, dict):
        paragraphs = node.get("paragraphs")
        if isinstance(paragraphs, list):
            title = node.get("title") or node.get("chapter") or ""
            lines = tuple(p for p in paragraphs if isinstance(p, str))
            out.append(Poem(str(title), str(node.get("author") or ""), lines))
            return
        nodes = node.values()
    elif isinstance(node, list):
        nodes = node
    else:
        return
    for child in nodes:
        _collect_poems(child, out)


_SENTENCE = re.compile(r"[^。？！?!]*[。？！?!]|[^。？！?!]+$")


def _parse_text(text: str) -> list[Poem]:
    """Blank-line separated poems; wrapped verse lines are joined and re-split after 。？！."""
    poems = []
    for block in re.split(r"\n\s*\n", text):
        joined = "".join(line.strip() for line in block.splitlines())
        if joined:
            poems.append(Poem("", "", tuple(_SENTENCE.findall(joined))))
    return poems

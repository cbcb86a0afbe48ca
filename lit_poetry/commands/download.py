"""Fetch the chinese-poetry corpora (全唐诗, 唐诗三百首, their 平仄) from the npm registry into the data
directory (lit_poetry/data/download.py; training does it by itself on first use).

    python -m lit_poetry download                        # into $LIT_POETRY_DATA, else ~/.cache/lit_poetry/data
    python -m lit_poetry download data_dir=~/poetry      # then: python train.py data=tang data.data_dir=~/poetry
    python -m lit_poetry download tarball=chinese-poetry-2.0.1.tgz   # offline: `npm pack` it elsewhere

Installed, the same command is `lit-poetry-download`.
"""

from pathlib import Path

from lit_poetry.cli import KeyValueParser, guarded, parse_arguments
from lit_poetry.data.corpora import default_data_dir
from lit_poetry.data.download import TARBALL_URL, download


@guarded
def main(argv=None) -> None:
    ap = KeyValueParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="default: $LIT_POETRY_DATA, else ~/.cache/lit_poetry/data")
    ap.add_argument("--tarball", type=Path, default=None, help="a chinese-poetry-2.0.1.tgz you already have")
    ap.add_argument("--url", default=None, help=f"default: {TARBALL_URL}")
    args = parse_arguments(ap, argv)
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    files = download(data_dir, args.tarball, args.url)
    print(f"wrote {len(files)} files under {data_dir.resolve()}/chinese-poetry (corpora tang, tang300)")

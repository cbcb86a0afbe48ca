"""Export the titles a poem asked without one is written to: lit_poetry/assets/titles.txt, one a line.

    python scripts/export_titles.py                  # from the data directory ($LIT_POETRY_DATA, ../shared/data)
    python scripts/export_titles.py --out /tmp/titles.txt

The titles of the regular-form poems (五言/七言 绝句/律诗) in data=tang's train split, the shipped model's:
2 to 8 characters after cleaning (cleaning.clean_title), without a number (a series' 其二, 十首), each once.
The val split's titles stay out, so a poem compared with a held-out real one is not written to its title.
"""

import argparse
from pathlib import Path

from lit_poetry.data.corpora import default_data_dir
from lit_poetry.data.processing import ProcessingConfig, prepare_poems, split_poems
from lit_poetry.text import FORMS, is_regular
from lit_poetry.titles import TITLES_FILE

NUMERALS = set("一二三四五六七八九十百第其")


def train_titles(data_dir: Path) -> list[str]:
    cfg = ProcessingConfig(corpus="tang", data_dir=str(data_dir), max_len=64, min_freq=3, titles=True)
    prepared = prepare_poems(cfg)
    kept = set()
    for i in split_poems(prepared, cfg)["train"]:
        title, text = prepared.titles[int(i)], prepared.texts[int(i)]
        if 2 <= len(title) <= 8 and not NUMERALS & set(title) and any(is_regular(text, f) for f in FORMS):
            kept.add(title)
    return sorted(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(TITLES_FILE))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    titles = train_titles(Path(args.data_dir) if args.data_dir else default_data_dir())
    Path(args.out).write_text("\n".join(titles) + "\n", encoding="utf-8")
    print(f"{len(titles)} titles -> {args.out}")


if __name__ == "__main__":
    main()

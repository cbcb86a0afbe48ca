"""Fit what the metre reads beyond the 平水韵 and ship it: lit_poetry/assets/verse_usage.json.

    python scripts/fit_verse_usage.py                 # from the data directory ($LIT_POETRY_DATA, ../shared/data)
    python scripts/fit_verse_usage.py --out /tmp/usage.json

Two parts: what the 全唐诗 tone strains teach (table.strains_lessons: characters the 平水韵 lacks, the marks
of each 多音字 and of the words that decide one), and how poets read each 多音字 and where each character
rhymes in the regulated poems of data=tang's train split (usage.fit_usage), read by the first part.
Shipped, they make every install (a bare clone, a wheel) read poems alike, without the corpus.
"""

import argparse
import json
from pathlib import Path

from lit_poetry.data.corpora import default_data_dir
from lit_poetry.data.processing import ProcessingConfig, prepare_poems, split_poems
from lit_poetry.metre.table import USAGE_FILE, build_table, strains_lessons
from lit_poetry.metre.usage import fit_usage


def train_texts(data_dir: Path) -> list[str]:
    """The train split of data=tang, the shipped model's."""
    cfg = ProcessingConfig(corpus="tang", data_dir=str(data_dir), max_len=64, min_freq=3)
    prepared = prepare_poems(cfg)
    return [prepared.texts[int(i)] for i in split_poems(prepared, cfg)["train"]]


def lessons(data_dir: Path) -> dict:
    strains = strains_lessons(data_dir, build_table(None))
    source = build_table(strains)
    return {"strains": strains, "usage": fit_usage(train_texts(data_dir), source.tones_of, source.ping_groups)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(USAGE_FILE))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    fitted = lessons(Path(args.data_dir) if args.data_dir else default_data_dir())
    Path(args.out).write_text(json.dumps(fitted, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                              encoding="utf-8")
    usage = fitted["usage"]
    print(f"{len(fitted['strains']['tones'])} characters from the strains, {len(usage['tones'])} 多音字 and "
          f"{len(usage['words'])} words read by usage, {len(usage['rhymes'])} rhyme characters -> {args.out}")


if __name__ == "__main__":
    main()

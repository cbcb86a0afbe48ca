"""Fit the 对仗 table (lit_poetry/parallelism.py) on the train split of data=tang and ship it.

    python scripts/fit_duizhang.py                  # writes lit_poetry/assets/duizhang.json, prints the rates
    python scripts/fit_duizhang.py --out /tmp/t.json

The split is the shipped model's (data=tang, split_seed 1234), so the rates printed for the val split are
on poems the table was not fitted on.
"""

import argparse
from pathlib import Path

from lit_poetry.data.processing import ProcessingConfig, prepare_poems, split_poems
from lit_poetry.parallelism import TABLE_FILE, PairTable, couplets, parallel_rate


def split_texts(data_dir: str | None = None) -> dict[str, list[str]]:
    """The train and val poems of data=tang as the shipped model was trained on them."""
    cfg = ProcessingConfig(corpus="tang", data_dir=data_dir, max_len=64, min_freq=3)
    prepared = prepare_poems(cfg)
    return {name: [prepared.texts[int(i)] for i in ids] for name, ids in split_poems(prepared, cfg).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(TABLE_FILE))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    texts = split_texts(args.data_dir)
    table = PairTable.fit(texts["train"])
    table.save(Path(args.out))
    print(f"{len(table.pairs)} pairs, threshold {table.threshold:.3f} -> {args.out}")
    for name in ("train", "val"):
        middle, first = couplets(texts[name]), couplets(texts[name], (0,))
        print(f"{name}: 对仗 rate of middle couplets {parallel_rate(table, middle):.1%} ({len(middle)}), "
              f"of first couplets {parallel_rate(table, first):.1%} ({len(first)})")


if __name__ == "__main__":
    main()

"""Poems on titles not chosen by hand: titles drawn at random from 全唐诗's val split (poems the model never
trained on), each written in the form of the real poem under that title, with generate.py's defaults; a
markdown table for docs/model.md, the real poem beside the model's.

    python scripts/title_poems.py                                  # the shipped model, 10 titles, seed 0
    python scripts/title_poems.py ckpt_path=logs/tang_song/checkpoints/best.ckpt n=10 seed=0

The val split is the one the model was trained with (its data settings, as `evaluate` re-creates it;
data=tang for a checkpoint that kept none).
A title is drawn among val poems of a regular shape (text.is_regular: 绝句 or 律诗) whose cleaned
title has 2-8 characters, every one in the model's vocabulary.
"""

import random
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from lit_poetry.checkpoint import load_for_use
from lit_poetry.data.processing import prepare_poems, split_poems
from lit_poetry.evaluation import data_settings
from lit_poetry.generation import sample
from lit_poetry.text import FORMS, is_regular

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    unknown = set(args) - {"ckpt_path", "n", "seed"} or {a for a in argv if "=" not in a}
    if unknown:
        sys.exit(f"error: {', '.join(sorted(unknown))}: give ckpt_path=, n= and seed= only (see the docstring)")
    n, seed = int(args.get("n", 10)), int(args.get("seed", 0))
    trained = load_for_use(args.get("ckpt_path"))
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("evaluate", overrides=["data=tang"])
    # the split the model was trained with, as evaluate re-creates it (its val poems are held out)
    settings, _ = data_settings(cfg, trained.data, data_given=False)
    prepared = prepare_poems(settings)
    vocab = trained.vocab
    drawable = []
    for i in sorted(int(i) for i in split_poems(prepared, settings)["val"]):
        text, title = prepared.texts[i], prepared.titles[i]
        form = next((f for f in FORMS if is_regular(text, f)), None)
        if form and 2 <= len(title) <= 8 and all(c in vocab.stoi for c in title):
            drawable.append((title, form, text))
    print(f"{len(drawable)} val poems with a drawable title; {n} drawn with seed {seed}", file=sys.stderr)
    print("| title | form | the model's poem (generate.py defaults, seed 0) | the real poem |\n|---|---|---|---|")
    for title, form, text in random.Random(seed).sample(drawable, min(n, len(drawable))):
        poem = sample(trained.model, vocab, form=form, metre="auto", seed=0, title=title)[0]
        print(f"| {title} | {form} | {poem.poem} | {text} |")


if __name__ == "__main__":
    main(sys.argv[1:])

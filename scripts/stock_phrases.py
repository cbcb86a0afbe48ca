"""Stock phrases: how often the model's poems share two-character words with each other, against real poems.
The poems of generate.py's defaults (start words 日红山夜湖海月春秋江, seeds 0..n-1, form=auto) beside as
many real poems of the same shapes drawn at random from the model's val split; for each set, the
two-character words a poem shares with the other poems of its group of 10 (one request's poems, one for
each start word, side by side), and the words the most poems use.

    python scripts/stock_phrases.py                        # the shipped model, seeds 0-9 (100 poems)
    python scripts/stock_phrases.py seeds=10 temperature=0.4
    python scripts/stock_phrases.py candidates=1                       # one draw a line: no choosing
    python scripts/stock_phrases.py ckpt_path=logs/tang_song/checkpoints/best.ckpt
"""

import random
import sys
from collections import Counter
from pathlib import Path

from hydra import compose, initialize_config_dir

from lit_poetry.checkpoint import load_for_use
from lit_poetry.data.processing import prepare_poems, split_poems
from lit_poetry.evaluation import data_settings
from lit_poetry.generation import guidance_for, sample
from lit_poetry.resolvers import register_resolvers
from lit_poetry.search import Search
from lit_poetry.text import FORMS, is_regular, verse_lines

ROOT = Path(__file__).resolve().parents[1]
STARTS = list("日红山夜湖海月春秋江")
GROUP = 10  # poems side by side: one request of the ten start words, or ten real poems


def words(poem: str) -> set[str]:
    return {line[i : i + 2] for line in verse_lines(poem) for i in range(len(line) - 1)}


def shared_per_poem(poems: list[str]) -> float:
    """Mean number of a poem's two-character words that another poem of its group of GROUP also has."""
    total = 0
    for start in range(0, len(poems), GROUP):
        group = [words(p) for p in poems[start : start + GROUP]]
        for k, mine in enumerate(group):
            total += len(mine & set().union(*(w for j, w in enumerate(group) if j != k)))
    return total / max(len(poems), 1)


def report(name: str, poems: list[str]) -> None:
    common = Counter(w for p in poems for w in words(p)).most_common(8)
    print(f"{name}: {len(poems)} poems; two-character words shared with the other poems of a group of {GROUP}: "
          f"{shared_per_poem(poems):.2f} per poem; the most used: "
          + " ".join(f"{w} {n}" for w, n in common))


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    unknown = set(args) - {"ckpt_path", "seeds", "temperature", "candidates"} or {a for a in argv if "=" not in a}
    if unknown:
        sys.exit(f"error: {', '.join(sorted(unknown))}: give ckpt_path=, seeds=, temperature= and candidates= only")
    seeds, temperature = int(args.get("seeds", 10)), float(args.get("temperature", Search.temperature))
    candidates = int(args.get("candidates", Search.candidates))
    trained = load_for_use(args.get("ckpt_path"))
    machine = [p.poem for seed in range(seeds) for p in sample(
        trained.model, trained.vocab, STARTS, form="auto", metre="auto", seed=seed, temperature=temperature,
        candidates=candidates, guidance=guidance_for(trained.data))]
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("evaluate", overrides=["data=tang"])
    settings, _ = data_settings(cfg, trained.data, data_given=False)
    prepared = prepare_poems(settings)
    by_form: dict[str, list[str]] = {}
    for i in split_poems(prepared, settings)["val"]:
        text = prepared.texts[int(i)]
        form = next((f for f in FORMS if is_regular(text, f)), None)
        if form:
            by_form.setdefault(form, []).append(text)
    rng = random.Random(0)
    machine = [p for p in machine if any(is_regular(p, f) for f in FORMS)]  # form=auto: all, unless one fails
    real = [rng.choice(by_form[next(f for f in FORMS if is_regular(p, f))]) for p in machine]
    report(f"the model, temperature {temperature:g}, {candidates} candidates a line", machine)
    report("real poems of the same shapes (val split)", real)


if __name__ == "__main__":
    main(sys.argv[1:])

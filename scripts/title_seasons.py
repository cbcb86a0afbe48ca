"""Does a poem keep to the season its title names? Titles that name exactly one season (秋夜, 春日 …) are
drawn at random from the shipped titles the model can read; each is written once with generate.py's
defaults (七律 and 五绝 in turn, seed = its index), and once more with the scene rule off (weights.scene
and weights.season_logit 0: the model and the rest of the search alone). Prints how many poems name
another season than their title's, for both, and the poems that do.

    python scripts/title_seasons.py                                   # the shipped model, 40 titles
    python scripts/title_seasons.py ckpt_path=logs/tang_song/checkpoints/best.ckpt n=40 seed=0
"""

import dataclasses
import random
import sys

from lit_poetry.checkpoint import load_for_use
from lit_poetry.generation import Request, guidance_for, write_poems
from lit_poetry.scoring import SEASONS, named
from lit_poetry.search import Search
from lit_poetry.titles import readable_titles

TITLE_FORMS = ("qilv", "wujue")


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    unknown = set(args) - {"ckpt_path", "n", "seed"} or {a for a in argv if "=" not in a}
    if unknown:
        sys.exit(f"error: {', '.join(sorted(unknown))}: give ckpt_path=, n= and seed= only (see the docstring)")
    n, seed = int(args.get("n", 40)), int(args.get("seed", 0))
    trained = load_for_use(args.get("ckpt_path"))
    one_season = [t for t in readable_titles(trained.vocab) if len(named(t, SEASONS)) == 1]
    titles = random.Random(seed).sample(one_season, min(n, len(one_season)))
    print(f"{len(one_season)} titles name one season; {len(titles)} drawn with seed {seed}", file=sys.stderr)
    search = Search(guidance=guidance_for(trained.data))
    off = dataclasses.replace(search, weights=dataclasses.replace(search.weights, scene=0.0, season_logit=0.0))
    for name, each in (("defaults", search), ("scene rule off", off)):
        clashes = []
        for i, title in enumerate(titles):
            request = Request(form=TITLE_FORMS[i % len(TITLE_FORMS)], metre="auto", seed=i, title=title)
            poem = write_poems(trained.model, trained.vocab, request, each)[0]
            if named(poem.poem, SEASONS) - named(title, SEASONS):
                clashes.append(f"  《{title}》 {poem.poem}")
        print(f"{name}: {len(clashes)} of {len(titles)} poems name another season than their title's")
        print("\n".join(clashes))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Titles for the poems asked without one (title=auto, the default). A poem written to a title has a
subject, a place or a person to keep to from the first line to the last; the model reads titles (data.titles)
and leans towards its title all the more with guidance (search.Search.guidance).

The titles are those of 全唐诗's regular-form poems in the shipped model's train split
(assets/titles.txt, written by scripts/export_titles.py): each poem draws one that holds its start word
(else its first character, else any title), every character in the model's vocabulary.
"""

import functools
import random
from pathlib import Path

from lit_poetry.data.vocab import Vocabulary

TITLES_FILE = Path(__file__).resolve().parent / "assets" / "titles.txt"


@functools.lru_cache(maxsize=1)
def known_titles() -> tuple[str, ...]:
    return tuple(TITLES_FILE.read_text(encoding="utf-8").split())


@functools.lru_cache(maxsize=4)  # a few vocabularies at most
def _readable(itos: tuple[str, ...]) -> tuple[str, ...]:
    chars = set(itos)
    return tuple(t for t in known_titles() if chars.issuperset(t))


def readable_titles(vocab: Vocabulary) -> tuple[str, ...]:
    """The known titles whose every character the vocabulary holds."""
    return _readable(tuple(vocab.itos))


def drawn_title(start: str, readable: tuple[str, ...], rng: random.Random) -> str:
    """A title among `readable` (readable_titles) for a poem that begins with `start` (may be ""), drawn
    with `rng`."""
    for part in (start, start[:1]):
        holding = [t for t in readable if part and part in t]
        if holding:
            return rng.choice(holding)
    return rng.choice(readable) if readable else ""

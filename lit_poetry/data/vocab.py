"""Vocabulary: characters <-> ids, with the four special tokens first."""

from collections import Counter
from collections.abc import Iterable

from lit_poetry.errors import LitPoetryError
from lit_poetry.text import TITLE_MARKS

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocabulary:
    """Ids 0-3 are <pad> <unk> <bos> <eos>; then characters by frequency (descending), ties by code point,
    so two builds on the same text give the same ids."""

    def __init__(self, chars: Iterable[str]):
        self.itos: list[str] = list(SPECIALS) + [c for c in chars if c not in SPECIALS]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise LitPoetryError("a vocabulary lists some characters twice: the checkpoint or cache it came from "
                                 "is damaged (train again, or delete the cache folder)")
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.stoi[s] for s in SPECIALS)

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1, extra: str = "") -> "Vocabulary":
        """Keep characters seen at least `min_freq` times (report 000: more than twice, i.e. min_freq=3);
        `extra` characters (the title marks) come last."""
        counts = Counter()
        for text in texts:
            counts.update(text)
        kept = sorted((c for c, n in counts.items() if n >= min_freq), key=lambda c: (-counts[c], ord(c)))
        return cls(kept + [c for c in extra if c not in counts or counts[c] < min_freq])

    @property
    def title_ids(self) -> tuple[int, int] | None:
        """Ids of the title marks 《 》, or None for a vocabulary trained without titles."""
        marks = [self.stoi.get(c) for c in TITLE_MARKS]
        return None if None in marks else (marks[0], marks[1])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, char: str) -> bool:
        return char in self.stoi

    def encode(self, text: str) -> list[int]:
        unk = self.unk_id
        return [self.stoi.get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Characters of `ids`; special tokens are left out."""
        return "".join(self.itos[i] for i in ids if i >= len(SPECIALS))

    def to_dict(self) -> dict:
        """A plain dict (JSON/YAML/checkpoint friendly)."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabulary":
        itos = d["itos"]
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise LitPoetryError(f"not a lit-poetry vocabulary: it does not begin with {' '.join(SPECIALS)}")
        return cls(itos[len(SPECIALS) :])

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

"""Vocabulary: characters <-> ids, with the four special tokens first."""

from collections import Counter
from collections.abc import Iterable

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocabulary:
    """Ids 0-3 are <pad> <unk> <bos> <eos>; then characters by frequency (descending), ties by code point,
    so two builds on the same text give the same ids."""

    def __init__(self, chars: Iterable[str]):
        self.itos: list[str] = list(SPECIALS) + [c for c in chars if c not in SPECIALS]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        assert len(self.stoi) == len(self.itos), "vocabulary entries must be unique"
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.stoi[s] for s in SPECIALS)

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1) -> "Vocabulary":
        """Keep characters seen at least `min_freq` times (report 000: more than twice, i.e. min_freq=3)."""
        counts = Counter()
        for text in texts:
            counts.update(text)
        kept = sorted((c for c, n in counts.items() if n >= min_freq), key=lambda c: (-counts[c], ord(c)))
        return cls(kept)

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
        assert tuple(itos[: len(SPECIALS)]) == SPECIALS, "not a lit-poetry vocabulary"
        return cls(itos[len(SPECIALS) :])

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

"""对仗: how strongly two lines pair character by character, learned from 全唐诗's own 律诗.

The middle couplets of a 律诗 (lines 3-4 and 5-6) are parallel: the characters at one position pair by
kind (山/水, 红/绿, 去/来). `PairTable` counts which characters stand at the same position in the middle
couplets of the train split's 律诗 and scores a pair by its pointwise mutual information:

    pmi(a, b) = log( (n(a, b) + eps) * N / ((n(a) + alpha) * (n(b) + alpha)) )

with n(a, b) the aligned count (both orders), n(a) a character's aligned total and N the sum of all; pairs
seen once are left out of the shipped table (a quarter of the pairs remain; an unseen pair scores as rare).
The table also keeps the characters real poems double (叠字, seen at least MIN_DOUBLED times), within a
line (依依, 人人) and to end one (悠悠, 纷纷), which the search lets come twice in a row there. A couplet's score
is the mean pmi over its positions; it is 对仗 when the score passes the threshold that best tells the
train split's middle couplets from its first couplets (which are seldom parallel).

Rebuild the shipped table (lit_poetry/assets/duizhang.json) from the corpus:

    python scripts/fit_duizhang.py          # reads data=tang, writes the table, prints its rates
"""

import bisect
import functools
import json
import math
from collections import Counter
from pathlib import Path

from lit_poetry.text import PUNCTUATION, is_regular, verse_lines

TABLE_FILE = Path(__file__).resolve().parent / "assets" / "duizhang.json"
MIN_PAIR_COUNT = 2  # pairs seen fewer times are left out of the table
MIN_DOUBLED = 5  # a character is a 叠字 when the train split doubles it (依依, 萧萧) at least this often
EPS, ALPHA = 0.005, 0.5  # smoothing of an unseen pair and of a character's total


def couplets(texts, which: tuple[int, ...] = (1, 2)) -> list[tuple[str, str]]:
    """The couplets numbered `which` (0 = first, 1-2 = the middle ones, 3 = last) of the 律诗 among `texts`."""
    out = []
    for text in texts:
        if is_regular(text):
            lines = verse_lines(text)
            if len(lines) == 8:
                out += [(lines[2 * k], lines[2 * k + 1]) for k in which]
    return out


class PairTable:
    """Aligned-pair counts of middle couplets and the 对仗 score they give."""

    def __init__(self, pairs: dict[str, int], totals: dict[str, int], threshold: float, doubled: str = "",
                 doubled_end: str = ""):
        self.pairs, self.totals, self.threshold = pairs, totals, threshold  # pairs: "ab" (a <= b) -> count
        self.doubled = frozenset(doubled)  # what real poems double within a line: 依 萧 人 ..., not 何 or 不
        self.doubled_end = frozenset(doubled_end)  # ... and to end a line: 悠 纷 苍 ..., not 人 or 来
        self.n = sum(totals.values())
        self._neighbours: dict[str, list[str]] | None = None  # built on first use of `partners`

    @classmethod
    def fit(cls, texts) -> "PairTable":
        """Counts from the middle couplets of the 律诗 in `texts`; the threshold from their first couplets."""
        counts: Counter = Counter()
        for a, b in couplets(texts):
            counts.update(min(x, y) + max(x, y) for x, y in zip(a, b))
        totals: Counter = Counter()
        for pair, n in counts.items():
            totals[pair[0]] += n
            totals[pair[1]] += n
        within, ending = Counter(), Counter()
        for text in texts:
            for v in verse_lines(text):
                for k in range(1, len(v)):
                    if v[k] == v[k - 1] and v[k - 2 : k - 1] != v[k] and v[k + 1 : k + 2] != v[k]:
                        (ending if k == len(v) - 1 else within)[v[k]] += 1
        often = lambda counts: "".join(sorted(c for c, n in counts.items() if n >= MIN_DOUBLED))  # noqa: E731
        table = cls({p: n for p, n in sorted(counts.items()) if n >= MIN_PAIR_COUNT}, dict(sorted(totals.items())), 0.0,
                    often(within), often(ending))
        table.threshold = best_threshold([table.score(*c) for c in couplets(texts)],
                                         [table.score(*c) for c in couplets(texts, (0,))])
        return table

    def pmi(self, a: str, b: str) -> float:
        n_ab = self.pairs.get(min(a, b) + max(a, b), 0)
        return math.log((n_ab + EPS) * self.n / ((self.totals.get(a, 0) + ALPHA) * (self.totals.get(b, 0) + ALPHA)))

    def score(self, first: str, second: str) -> float:
        """Mean pmi of the aligned characters of two lines (punctuation and a length mismatch ignored)."""
        pairs = list(zip(first.rstrip(PUNCTUATION), second.rstrip(PUNCTUATION)))
        return sum(self.pmi(a, b) for a, b in pairs) / max(len(pairs), 1)

    def is_parallel(self, first: str, second: str) -> bool:
        return self.score(first, second) >= self.threshold

    def partners(self, char: str) -> dict[str, float]:
        """The characters that pair with `char` more often than chance, with their (positive) pmi."""
        if self._neighbours is None:
            self._neighbours = {}
            for pair in self.pairs:
                self._neighbours.setdefault(pair[0], []).append(pair[1])
                if pair[1] != pair[0]:
                    self._neighbours.setdefault(pair[1], []).append(pair[0])
        return {b: p for b in self._neighbours.get(char, ()) if (p := self.pmi(char, b)) > 0}

    def save(self, path: Path = TABLE_FILE) -> None:
        data = {"threshold": round(self.threshold, 4), "min_pair_count": MIN_PAIR_COUNT,
                "doubled": "".join(sorted(self.doubled)), "doubled_end": "".join(sorted(self.doubled_end)),
                "totals": self.totals, "pairs": self.pairs}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path = TABLE_FILE) -> "PairTable":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["pairs"], data["totals"], data["threshold"], data["doubled"], data["doubled_end"])


@functools.cache
def pair_table() -> PairTable:
    """The shipped table, read once."""
    return PairTable.load()


def best_threshold(positives: list[float], negatives: list[float]) -> float:
    """The cut that classifies the two sets best, with the sets weighted equally (balanced accuracy)."""
    cuts = sorted(set(positives) | set(negatives))
    pos, neg = sorted(positives), sorted(negatives)

    def balanced(cut: float) -> float:
        return (len(pos) - bisect.bisect_left(pos, cut)) / len(pos) + bisect.bisect_left(neg, cut) / len(neg)

    return max(cuts[:: max(1, len(cuts) // 2000)], key=balanced)


def parallel_rate(table: PairTable, pairs: list[tuple[str, str]]) -> float:
    """Share of couplets that are 对仗 by the table's threshold."""
    return sum(table.is_parallel(a, b) for a, b in pairs) / max(len(pairs), 1)

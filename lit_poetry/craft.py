"""How far the model's poems are from real ones, by the same measures on both sides (`craft_report`):

- repeats: extra uses of a character per poem, a 叠字 pair not counted (scoring.repeats); three_times:
  share of poems with one character three times or more;
- seasons / hours: share of poems that name more than one season / time of day (scoring.py);
- duizhang: share of the 律诗 middle couplets that are 对仗 (parallelism.py), and of the first couplets
  (seldom parallel in real poems: the contrast shows the scorer reads parallelism, not noise);
- logprob: the model's mean log-probability per token of the poems (characters, punctuation and <eos>);
- tones_ok / rhyme_ok: the checker's strict reading (lit_poetry/metre);
- copied_lines: share of lines found whole in the training poems; longest_copy: the longest run of
  characters within a line found verbatim in a training poem, as the mean and the max over poems.
"""

import math
from collections import Counter

from lit_poetry.metre import check
from lit_poetry.parallelism import couplets, pair_table, parallel_rate
from lit_poetry.scoring import hours, repeats, seasons
from lit_poetry.text import verse_lines


class TrainingLines:
    """The training poems' lines, to find what a poem copies."""

    def __init__(self, texts: list[str]):
        self.lines = {line for text in texts for line in verse_lines(text)}
        self.joined = "|".join(self.lines)  # a run found here lies within one training line

    def longest_copy(self, poem: str) -> int:
        """The longest run of characters within one of the poem's lines that a training line holds."""
        best = 0
        for line in verse_lines(poem):
            if line in self.lines:
                best = max(best, len(line))
                continue
            for start in range(len(line)):
                end = start + best + 1  # only a longer run can change the answer
                while end <= len(line) and line[start:end] in self.joined:
                    best, end = end - start, end + 1
        return best


def craft_report(poems: list[str], training: TrainingLines, logprob: float) -> dict:
    """The measures above for a list of poems (see the module docstring); `logprob`, the model's, is the
    caller's (evaluation.perplexity)."""
    n = max(len(poems), 1)
    verdicts = [check(p, level="strict") for p in poems]
    regular = [v for v in verdicts if v.form]
    copies = [training.longest_copy(p) for p in poems]
    lines = [line for p in poems for line in verse_lines(p)]
    table, middle, first = pair_table(), couplets(poems), couplets(poems, (0,))
    return {
        "poems": len(poems),
        "repeats": sum(map(repeats, poems)) / n,
        "three_times": sum(max(Counter(c for c in "".join(verse_lines(p))).values(), default=0) >= 3
                           for p in poems) / n,
        "seasons": sum(seasons(p) > 0 for p in poems) / n,
        "hours": sum(hours(p) > 0 for p in poems) / n,
        "duizhang_middle": parallel_rate(table, middle) if middle else math.nan,
        "duizhang_first": parallel_rate(table, first) if first else math.nan,
        "logprob": logprob,
        "tones_ok": sum(v.tones_ok for v in regular) / max(len(regular), 1),
        "rhyme_ok": sum(v.rhyme_ok for v in regular) / max(len(regular), 1),
        "copied_lines": sum(line in training.lines for line in lines) / max(len(lines), 1),
        "longest_copy_mean": sum(copies) / n,
        "longest_copy_max": max(copies, default=0),
    }

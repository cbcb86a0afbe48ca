"""How Tang poets read each character: its tone where regulated verse fixes one, and the group it rhymes in.

Counted over the regulated poems (4 or 8 lines of 5 or 7 characters) of 全唐诗's train split: a poem counts
when one of its form's patterns fits every fixed position (2nd, 4th, 6th, last) by the source readings
(the 平水韵, mended, and the tone strains); each fixed position then tells the tone its character stands
on, and its neighbours (a two-character word: 'ab<' the reading of b after a, 'ab>' of a before b); each
even line's last character the group the poem rhymes in (when the even lines share exactly one), and for a
character of two 平 groups, the word it closes the line with (数行 rhymes in 阳, 独行 in 庚).

The counts ship in lit_poetry/assets/verse_usage.json (with what the strains teach, so that a bare
install reads poems as the tests do), rebuilt by `python scripts/fit_verse_usage.py`; table.py reads them:
a reading a character has in under a tenth of its uses is not one it has in verse (龙 仄, 难 仄, 长 仄),
a group it rhymes in under a tenth of its rhymes is not its rhyme (干 in 先, 听 in 文), and the word decides
between the groups it keeps (行 in 阳 only as in 数行, 成行).
"""

from collections import Counter, defaultdict

from lit_poetry.metre.patterns import patterns
from lit_poetry.metre.table import PING, RHYMES_MIN, WORD_MIN, ZE
from lit_poetry.text import FORMS, verse_lines


def fixed(line: str, j: int) -> bool:
    return j % 2 == 1 or j == len(line) - 1


def fitting_tones(lines: list[str], tones_of) -> list[list[str | None]] | None:
    """Per character of a regulated poem, the tone every fitting pattern fixes there (None: free, or the
    patterns disagree); None when no pattern fits all fixed positions."""
    form = next((f for f, (chars, n) in FORMS.items() if len(lines) == n and {len(x) for x in lines} == {chars}),
                None)
    if form is None:
        return None
    fitting = [p.lines for p in patterns(form)
               if all(not fixed(want, j) or not tones_of(c) or want[j] in tones_of(c)
                      for line, want in zip(lines, p.lines) for j, c in enumerate(line))]
    if not fitting:
        return None
    first = fitting[0]
    return [[first[k][j] if fixed(first[k], j) and all(q[k][j] == first[k][j] for q in fitting) else None
             for j in range(len(line))] for k, line in enumerate(lines)]


def fit_usage(texts: list[str], tones_of, ping_groups) -> dict:
    """{"tones": 多音字 -> [平, 仄] uses at fixed positions, "words": 'ab<' / 'ab>' -> [平, 仄],
    "rhymes": char -> {group: uses}, "rhyme_words": 'ab' -> {group: uses} (b of two 平 groups, closing
    RHYMES_MIN lines or more after a)} over `texts`, read by the source table's `tones_of` / `ping_groups`."""
    tones: dict[str, Counter] = defaultdict(Counter)
    words: dict[str, Counter] = defaultdict(Counter)
    rhymes: dict[str, Counter] = defaultdict(Counter)
    rhyme_words: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        lines = verse_lines(text)
        fixed_tones = fitting_tones(lines, tones_of)
        if fixed_tones is None:
            continue
        for line, row in zip(lines, fixed_tones):
            for j, (char, tone) in enumerate(zip(line, row)):
                if tone is None:
                    continue
                tones[char][tone] += 1
                if len(tones_of(char)) == 2:  # a 多音字: which word made it read this way
                    if j:
                        words[line[j - 1] + char + "<"][tone] += 1
                    if j + 1 < len(line):
                        words[char + line[j + 1] + ">"][tone] += 1
        closing = [line for k, line in enumerate(lines) if k % 2 == 1]
        shared = set.intersection(*(set(ping_groups(line[-1])) for line in closing))
        if len(shared) == 1:
            group = next(iter(shared))
            for line in closing:
                rhymes[line[-1]][group] += 1
                if len(ping_groups(line[-1])) > 1:
                    rhyme_words[line[-2:]][group] += 1
    return {"tones": {c: [n[PING], n[ZE]] for c, n in sorted(tones.items()) if len(tones_of(c)) == 2},
            "words": {w: [n[PING], n[ZE]] for w, n in sorted(words.items()) if n.total() >= WORD_MIN},
            "rhymes": {c: dict(sorted(n.items())) for c, n in sorted(rhymes.items())},
            "rhyme_words": {w: dict(sorted(n.items())) for w, n in sorted(rhyme_words.items())
                            if n.total() >= RHYMES_MIN}}

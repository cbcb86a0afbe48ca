"""The tone patterns of regulated verse (近体诗) and the rules read on them.

Four line types, named by the tone of the second character (起) and of the last (收):
    仄起仄收 仄仄平平仄   平起平收 平平仄仄平   平起仄收 平平平仄仄   仄起平收 仄仄仄平平
A seven-character line puts two characters of the opposite tone before a five-character one (仄仄平平仄 ->
平平仄仄平平仄), so its second character decides 平起/仄起 as in a five-character line.

A poem's lines follow from its first: even lines end in 平 and rhyme in one group, odd lines end in 仄
(the first may end in 平 and rhyme: 首句入韵, where a neighbouring group is tolerated: 首句借韵); line
2k+1 opposes line 2k at the second character (对) and line 2k+2 repeats line 2k+1's (粘). So each form
(五绝 七绝 五律 七律) has four patterns: 平起/仄起 x 首句入韵 or not.

Strict reading: every position as the pattern says. Relaxed reading (一三五不论，二四六分明): only the
2nd, 4th and 6th characters and the last are fixed, with two rules on the free ones: no 孤平 (in a
平平仄仄平 line, the first character of that five may be 仄 only if the third is 平) and no 三平尾 (a line
may not end in three 平). The checker's relaxed reading also accepts the common 特拗 form of 平平平仄仄,
平平仄平仄 (its third and fourth tones swapped); generation does not write it.
"""

from dataclasses import dataclass

from lit_poetry.metre.table import PING, ZE
from lit_poetry.text import FORMS

LINE_TYPES = {(ZE, ZE): "仄仄平平仄", (PING, PING): "平平仄仄平", (PING, ZE): "平平平仄仄", (ZE, PING): "仄仄仄平平"}
FORM_NAMES = {"wujue": "五言绝句", "qijue": "七言绝句", "wulv": "五言律诗", "qilv": "七言律诗"}


def opposite(tone: str) -> str:
    return PING if tone == ZE else ZE


def line_tones(chars: int, second: str, last: str) -> str:
    """The tones of one line of 5 or 7 characters whose second character is `second` and last is `last`."""
    if chars == 5:
        return LINE_TYPES[(second, last)]
    return second * 2 + LINE_TYPES[(opposite(second), last)]


@dataclass(frozen=True)
class Pattern:
    form: str
    start: str  # 平 or 仄: the tone of the first line's second character (平起 / 仄起)
    first_rhymes: bool  # 首句入韵
    lines: tuple[str, ...]  # one tone string per line

    @property
    def name(self) -> str:
        return f"{FORM_NAMES[self.form]} {self.start}起 {'首句入韵' if self.first_rhymes else '首句不入韵'}"

    @property
    def rhyme_lines(self) -> tuple[int, ...]:
        """Lines whose last character rhymes (0-based)."""
        return tuple(k for k in range(len(self.lines)) if k % 2 == 1 or (k == 0 and self.first_rhymes))

    def fixed(self, k: int, j: int) -> bool:
        """Whether character j of line k is fixed in the relaxed reading (2nd, 4th, 6th and the last)."""
        return j % 2 == 1 or j == len(self.lines[k]) - 1


def make_pattern(form: str, start: str, first_rhymes: bool) -> Pattern:
    chars, n_lines = FORMS[form]
    seconds = [start]
    for k in range(1, n_lines):
        seconds.append(opposite(seconds[-1]) if k % 2 == 1 else seconds[-1])  # 对 after odd, 粘 after even
    lasts = [PING if k % 2 == 1 or (k == 0 and first_rhymes) else ZE for k in range(n_lines)]
    return Pattern(form, start, first_rhymes, tuple(line_tones(chars, s, e) for s, e in zip(seconds, lasts)))


def patterns(form: str) -> list[Pattern]:
    """The four patterns of a form, 仄起 first (the common one), 首句入韵 first for 七言 (as Tang poets did)."""
    first_rhymes_first = form in ("qijue", "qilv")
    return [make_pattern(form, start, rhymes) for start in (ZE, PING)
            for rhymes in (first_rhymes_first, not first_rhymes_first)]


def relaxed_rule_violations(line_pattern: str, tones: list[set[str]]) -> list[str]:
    """孤平 and 三平尾 on one line, given each character's possible tones (a 多音字 reads as it fits)."""
    found = []
    core, core_tones = line_pattern[-5:], tones[-5:]
    only_ze = [t == {ZE} for t in core_tones]
    only_ping = [t == {PING} for t in core_tones]
    if core == "平平仄仄平" and only_ze[0] and only_ze[2]:
        found.append("孤平")
    if line_pattern.endswith(PING) and all(only_ping[-3:]):
        found.append("三平尾")
    return found


def accepted_variant(line_pattern: str, tones: list[set[str]]) -> bool:
    """Whether a 平平平仄仄 line (its last five) is written in the 特拗 form 平平仄平仄 instead."""
    if not line_pattern.endswith("平平平仄仄"):
        return False
    core = tones[-5:][1:]  # the five's first character is free either way
    return all(not can or want in can for can, want in zip(core, "平仄平仄")) and not all(
        not can or want in can for can, want in zip(core, "平平仄仄"))

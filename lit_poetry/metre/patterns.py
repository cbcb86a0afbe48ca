"""The tone patterns of regulated verse (近体诗) and the rules read on them.

Four line types, named by the tone of the second character (起) and of the last (收):
    仄起仄收 仄仄平平仄   平起平收 平平仄仄平   平起仄收 平平平仄仄   仄起平收 仄仄仄平平
A seven-character line puts two characters of the opposite tone before a five-character one (仄仄平平仄 ->
平平仄仄平平仄), so its second character decides 平起/仄起 as in a five-character line.

A poem's lines follow from its first: even lines end in 平 and rhyme in one group, odd lines end in 仄
(the first may end in 平 and rhyme: 首句入韵, where a neighbouring group is tolerated: 首句借韵); line
2k+1 opposes line 2k at the second character (对) and line 2k+2 repeats line 2k+1's (粘). So each form
(五绝 七绝 五律 七律) has four patterns: 平起/仄起 x 首句入韵 or not.

Three levels of reading (`LEVELS`):
- relaxed (一三五不论，二四六分明): only the 2nd, 4th and 6th characters and the last are fixed, with two
  rules on the free ones: no 孤平 (in a 平平仄仄平 line, the first character of that five may be 仄 only if
  the third is 平) and no 三平尾 (a line may not end in three 平);
- strict, 王力's marking (《汉语诗律学》, 《诗词格律》): free are the first character of a seven-character line
  and the first of each five (⊙仄平平仄, ⊙平平仄仄, ⊙仄仄平平; in 平平仄仄平 the 孤平 rule governs it), and
  the third of 平平仄仄平 (平平平仄平); the third of the other three is fixed. 孤平 and 三平尾 are checked;
- every: every position as the pattern says (孤平 and 三平尾 checked too: a 多音字 fits either reading, but
  the rules read its common one).
Relaxed and strict accept the 拗救 of the rulebooks and name them (`Reading.accepted`): 特拗 (平平平仄仄
written 平平仄平仄; at strict only with a 平 first, as 王力 has it), 本句自救 (仄平平仄平: the third rescues the
first of a 平平仄仄平 line) and 对句相救 (a 仄仄平平仄 line with its third and/or fourth 仄, rescued by a 平
third in the next line); strict also accepts 半拗 (仄仄仄平仄 unrescued: 王力's 可救可不救). A poem that passes
strict passes relaxed. `allowed_tone` says what one position may take given the characters before it:
generation (constraints.Metre) writes by it and the checker's tone faults are read by it, so a line
written position by position passes `read_line` (拗救 aside, which generation does not write).
"""

from dataclasses import dataclass

from lit_poetry.metre.table import PING, ZE
from lit_poetry.text import FORM_NAMES, FORMS

LINE_TYPES = {(ZE, ZE): "仄仄平平仄", (PING, PING): "平平仄仄平", (PING, ZE): "平平平仄仄", (ZE, PING): "仄仄仄平平"}


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


LEVELS = ("relaxed", "strict", "every")
A_LINE, B_LINE, C_LINE = "仄仄平平仄", "平平仄仄平", "平平平仄仄"  # five-character cores with a 拗救
TE_AO = "平平仄平仄"  # the 特拗 form of 平平平仄仄


@dataclass(frozen=True)
class Fault:
    position: int  # 0-based in its line: the character that causes it
    rule: str  # tone | 孤平 | 三平尾
    expected: str  # 平 | 仄


@dataclass
class Reading:
    """One line read against its pattern line: its faults and the 拗救 accepted."""

    faults: list[Fault]
    accepted: list[tuple[int, str]]  # (0-based position, name of the 拗 or 救)


def rule_tone(can: set[str], common: str | None) -> str | None:
    """The tone the 孤平 and 三平尾 rules read: a character's only one, else a 多音字's common reading."""
    return next(iter(can)) if len(can) == 1 else common


def ruled_tones(want: str, tones: list[set[str]], common: list[str | None], level: str) -> list[str | None]:
    """The tones the 孤平 and 三平尾 rules read for a line's characters (`rule_tone`); a 多音字 with no common
    reading, at a position the pattern fixes and either reading fits, is read as the pattern asks (the
    rhyme of 仄仄仄平平 is 平 whatever else its character can be)."""
    return [rule_tone(can, c) or (w if PING in can and ZE in can and not free(want, j, level) else None)
            for j, (can, c, w) in enumerate(zip(tones, common, want))]


def fits(can: set[str], want: str) -> bool:
    return not can or want in can  # an unknown character is not counted against the poem


def free(want: str, j: int, level: str) -> bool:
    """Whether position j of a line with pattern `want` may take either tone at `level` (the 孤平 and
    三平尾 rules aside)."""
    if level == "every" or j % 2 == 1 or j == len(want) - 1:
        return False
    core = len(want) - 5
    if level == "relaxed" or j <= core:  # the first of seven, and the first of the five
        return True
    return want.endswith(B_LINE)  # the third: free only in 平平仄仄平 (平平平仄平)


@dataclass(frozen=True)
class Need:
    """What one position of a line must be: `tone`; `fixed` when the pattern fixes it at the level (any
    reading of a 多音字 that fits will do); `rule` (孤平 | 三平尾) when the rule reads it there, by a 多音字's
    common reading."""

    tone: str
    fixed: bool
    rule: str | None = None


def allowed_tone(want: str, j: int, level: str, ruled: list[str | None]) -> Need | None:
    """What position j of a line with pattern `want` must be at `level`, given `ruled`, the tones the 孤平
    and 三平尾 rules read for the characters before it (`ruled_tones`); None: either tone fits there."""
    fixed, at = not free(want, j, level), j - (len(want) - 5)  # the rules read the last five characters
    if want.endswith("仄仄仄平平") and at == 2:
        return Need(ZE, fixed, "三平尾")  # 平平 follow: a 平 third would make three
    if want.endswith(B_LINE) and at == 0 and level == "every":
        return Need(PING, fixed, "孤平")  # fixed 平 before a fixed 仄 third: a 多音字 read 仄 would be 孤平
    if want.endswith(B_LINE) and at == 2 and ruled[j - 2] == ZE and not fixed:
        return Need(PING, False, "孤平")  # a 仄 first needs a 平 third (本句自救)
    if want.endswith(B_LINE) and at == 3 and ruled[j - 1] == PING:
        return Need(ZE, fixed, "三平尾")  # after a 平 third, the fourth must be read 仄
    return Need(want[j], True) if fixed else None


def read_line(want: str, tones: list[set[str]], level: str, common: list[str | None],
              next_line: tuple[str, list[set[str]]] | None = None) -> Reading:
    """Faults and accepted 拗救 of one line. `tones`: each character's possible tones (a 多音字 may stand
    where either fits); `common`: a 多音字's usual reading, which the 孤平 and 三平尾 rules read;
    `next_line`: the next line's pattern and tones (for 对句相救)."""
    core, accepted = len(want) - 5, []
    ruled = ruled_tones(want, tones, common, level)
    if level != "every":
        after_first = tones[core + 1 :]
        te_ao = matches(after_first, TE_AO[1:]) and not matches(after_first, C_LINE[1:])
        if want.endswith(C_LINE) and te_ao and (level == "relaxed" or PING in tones[core]):  # 王力: 平 first
            want = want[:core] + TE_AO
            accepted.append((core + 2, "特拗 平平仄平仄"))
        if want.endswith(A_LINE):
            third, fourth = (tones[core + k] == {ZE} for k in (2, 3))
            rescued = next_line and next_line[0].endswith(B_LINE) and PING in next_line[1][len(next_line[0]) - 3]
            written = "仄仄" + ("仄" if third else "平") + ("仄" if fourth else "平") + "仄"
            if (third or fourth) and rescued:
                want = want[:core] + written
                accepted.append((core + (3 if fourth else 2), f"拗 {written}, 对句相救"))
            elif third and not fourth and level == "strict":  # 王力: 半拗, 可救可不救
                want = want[:core] + written
                accepted.append((core + 2, "半拗 仄仄仄平仄"))
        if want.endswith(B_LINE) and ruled[core] == ZE and tones[core + 2] == {PING}:
            accepted.append((core, "本句自救 仄平平仄平"))
    faults = [Fault(j, "tone", need.tone) for j, can in enumerate(tones)
              if (need := allowed_tone(want, j, level, ruled)) and need.fixed and not fits(can, need.tone)]
    # the rules hold at every level (a 多音字 that fits a fixed position may still make one by its common reading)
    if want.endswith(B_LINE) and ruled[core] == ZE and ruled[core + 2] == ZE:
        faults = [f for f in faults if f.position != core] + [Fault(core, "孤平", PING)]
    if want.endswith(PING) and all(t == PING for t in ruled[-3:]):
        at = max(j for j in range(len(want) - 3, len(want)) if want[j] == ZE)  # 仄仄平平 third, 平平仄仄平 fourth
        faults = [f for f in faults if f.position != at] + [Fault(at, "三平尾", ZE)]
    return Reading(sorted(faults, key=lambda f: f.position), accepted)


def matches(tones: list[set[str]], pattern: str) -> bool:
    return all(fits(can, want) for can, want in zip(tones, pattern))

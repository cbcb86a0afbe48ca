"""Check a poem against the patterns of its form: text in, verdict out (no torch).

    verdict = check("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", level="strict")
    verdict.regular, verdict.kind, verdict.pattern, verdict.violations, verdict.accepted, verdict.rhyme_group

The form comes from the shape (4 or 8 lines of 5 or 7 characters); the pattern is the one of its four
with the fewest tone faults (then rhyme faults). `level`: relaxed | strict | every (patterns.py). A 多音字
is read by its word where the tone strains tell it, else it may stand where either reading fits, and the
孤平 / 三平尾 rules read its common reading (table.py). Each violation names the character that causes it,
the rule, what was expected and one fix. Rhymes: the even lines share one 平声 group, and a first line that
rhymes is in it or in a neighbouring group (首句借邻韵, named: table.NEIGHBOURS); a character rhymes only in the
groups verse rhymes it in (干 in 寒, not 先); the lines outside the group most even lines share are the
faults, and a
rhyme character used twice is 重韵. A poem whose even lines end in 仄 is 仄韵; one that breaks 粘对 (a
fault at a second character) and has faults in two lines or more is 古体: not 近体 either way, and the
report says so in one line instead of listing faults (the JSON keeps them).
Marks: 平 ○, 仄 ●, either ◐, unknown ？.
"""

from dataclasses import dataclass, field

from lit_poetry.errors import LitPoetryError
from lit_poetry.metre.patterns import LEVELS, Pattern, fits, patterns, read_line
from lit_poetry.metre.table import PING, ZE, ToneTable, neighbouring, rhyme_char, simplified_char, tone_table
from lit_poetry.text import FORMS, PUNCTUATION, split_lines

MARKS = {frozenset({PING}): "○", frozenset({ZE}): "●", frozenset({PING, ZE}): "◐", frozenset(): "？"}


@dataclass
class Violation:
    line: int  # 1-based
    position: int  # 1-based
    char: str
    expected: str  # 平 / 仄 / a rhyme group / another rhyme character
    rule: str  # tone, 孤平, 三平尾, rhyme, 重韵
    fix: str = ""

    def __str__(self) -> str:
        return (f"line {self.line}, character {self.position} '{self.char}': {self.rule} (expected "
                f"{self.expected}){'; fix: ' + self.fix if self.fix else ''}")


@dataclass
class Verdict:
    form: str | None  # wujue | qijue | wulv | qilv, None when the shape is no regular form
    pattern: Pattern | None  # the matched (or nearest) pattern
    lines: list[str]  # verse lines without punctuation
    marks: list[str]  # one mark per character, per line
    violations: list[Violation] = field(default_factory=list)
    rhyme_groups: list[list[str]] = field(default_factory=list)  # per rhyming line: its possible 平 groups
    rhyme_group: str | None = None  # the group all rhyming lines share, if one does
    fixed_total: int = 0  # positions fixed by the relaxed reading
    fixed_correct: int = 0
    level: str = "relaxed"
    accepted: list[str] = field(default_factory=list)  # the 拗救 read as regular, one line each
    kind: str = "近体"  # 近体 | 仄韵 | 古体 (not 近体: why in `kind_note`)
    kind_note: str = ""

    @property
    def tones_ok(self) -> bool:
        return self.kind == "近体" and self.form is not None and not any(
            v.rule in ("tone", "孤平", "三平尾") for v in self.violations)

    @property
    def rhyme_ok(self) -> bool:
        return (self.kind == "近体" and self.form is not None and self.rhyme_group is not None
                and not any(v.rule in ("rhyme", "重韵") for v in self.violations))

    @property
    def repeated_rhyme(self) -> bool:
        return any(v.rule == "重韵" for v in self.violations)

    @property
    def regular(self) -> bool:
        return self.tones_ok and self.rhyme_ok

    def report(self) -> str:
        if self.form is None:
            return "not a regular form: 4 or 8 lines of 5 or 7 characters expected"
        verdict = self.kind_note or ("regular" if self.regular else f"{len(self.violations)} violation(s)")
        out = [f"{self.pattern.name} ({self.level}): {verdict}"]
        for k, (line, marks) in enumerate(zip(self.lines, self.marks)):
            out += [line, "".join(marks) + "   " + self.pattern.lines[k]]
        if self.rhyme_group:
            out.append(f"rhyme: {rhyme_char(self.rhyme_group)} ({self.rhyme_group})")
        out += [f"  accepted: {a}" for a in self.accepted]
        out += [f"  {v}" for v in self.violations] if self.kind == "近体" else []
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"form": self.form, "pattern": self.pattern.name if self.pattern else None, "level": self.level,
                "kind": self.kind, "kind_note": self.kind_note, "regular": self.regular,
                "tones_ok": self.tones_ok, "rhyme_ok": self.rhyme_ok, "lines": self.lines, "marks": self.marks,
                "pattern_tones": list(self.pattern.lines) if self.pattern else None,
                "rhyme_group": self.rhyme_group, "rhyme_groups": self.rhyme_groups,
                "fixed_correct": self.fixed_correct, "fixed_total": self.fixed_total,
                "accepted": self.accepted, "violations": [vars(v) for v in self.violations]}


def form_of(lines: list[str]) -> str | None:
    sizes = {len(line) for line in lines}
    return next((name for name, (chars, n) in FORMS.items() if sizes == {chars} and len(lines) == n), None)


def tone_fix(table: ToneTable, line: str, j: int, want: str, faults_at: dict[int, str]) -> str:
    """'swap with ...' when swapping with a neighbour at fault the other way mends both, else characters."""
    for other in (j - 1, j + 1):
        if faults_at.get(other) == ("仄" if want == PING else PING) and want in table.verse_tones(line[other]):
            return f"swap '{line[j]}' with '{line[other]}'"
    return f"a {want} character (e.g. {', '.join(table.usual(tone=want, avoid=line))})"


def _against(pattern: Pattern, lines: list[str], tones: list[list[set[str]]], common: list[list[str | None]],
             table: ToneTable, level: str) -> Verdict:
    verdict = Verdict(pattern.form, pattern, lines, [[MARKS[frozenset(t)] for t in row] for row in tones], level=level)
    for k, (line, row, wanted) in enumerate(zip(lines, tones, pattern.lines)):
        following = (pattern.lines[k + 1], tones[k + 1]) if k + 1 < len(lines) else None
        reading = read_line(wanted, row, level, common[k], following)
        for j, (can, want) in enumerate(zip(row, wanted)):
            fixed = pattern.fixed(k, j)
            verdict.fixed_total += fixed
            verdict.fixed_correct += fixed and fits(can, want)
        for j, name in reading.accepted:
            if name.endswith("对句相救"):  # the rescuer: the next line's third-from-last
                name += f" by line {k + 2}, character {len(lines[k + 1]) - 2} '{lines[k + 1][-3]}'"
            verdict.accepted.append(f"line {k + 1}, character {j + 1} '{line[j]}': {name}")
        faults_at = {f.position: f.expected for f in reading.faults if f.rule == "tone"}
        for f in reading.faults:
            fix = tone_fix(table, line, f.position, f.expected, faults_at)
            if f.rule == "孤平":
                fix += f", or make character {f.position + 3} '{line[f.position + 2]}' 平 (本句自救)"
            verdict.violations.append(Violation(k + 1, f.position + 1, line[f.position], f.expected, f.rule, fix))
    check_rhymes(verdict, pattern, lines, table)
    return verdict


def check_rhymes(verdict: Verdict, pattern: Pattern, lines: list[str], table: ToneTable) -> None:
    """The rhyme group the even lines share (the lines outside the one most share are the faults), a first
    line that rhymes in it or borrows a neighbouring group (首句借邻韵, named), and 重韵. A character
    rhymes only in the groups verse rhymes it in, as its word does (`ToneTable.rhymes_on`: 干 in 寒, not 先;
    中行 in 庚, 数行 in 阳)."""
    ends = {k: lines[k][-1] for k in pattern.rhyme_lines}
    groups = {k: table.rhymes_on(c, lines[k][-2:-1]) for k, c in ends.items()}
    verdict.rhyme_groups = [sorted(g) for g in groups.values()]
    even = [k for k in ends if k > 0]
    # the group most even lines share (the first line's counts half); a tie goes to the earlier line's group
    votes = {g: (sum(g in groups[k] for k in even) + 0.5 * (g in groups.get(0, ())),
                 -min(k for k in even if g in groups[k])) for k in even for g in groups[k]}
    best = max(sorted(votes), key=votes.get) if votes else None
    if best and all(best in groups[k] for k in even):
        verdict.rhyme_group = best
    poem = "".join(lines)
    for k in even:
        if best is None or best not in groups[k]:
            expected = best or "one 平声 group"
            fix = (f"a 平 rhyme of {best} (e.g. {', '.join(table.usual(group=best, avoid=poem))})"
                   if best else "平 rhymes of one group")
            verdict.violations.append(Violation(k + 1, len(lines[k]), ends[k], expected, "rhyme", fix))
    if 0 in ends and verdict.rhyme_group and verdict.rhyme_group not in groups[0]:
        near = sorted(g for g in groups[0] if neighbouring(verdict.rhyme_group, g))
        if near:
            verdict.accepted.append(f"line 1, character {len(lines[0])} '{ends[0]}': 首句借邻韵 "
                                    f"{rhyme_char(near[0])} ({near[0]})")
        else:
            fix = f"a 平 rhyme of {rhyme_char(verdict.rhyme_group)} or a neighbouring group, or a 仄 ending"
            verdict.violations.append(Violation(1, len(lines[0]), ends[0], f"{verdict.rhyme_group} or a neighbour",
                                                "rhyme", fix))
    seen: dict[str, int] = {}
    for k, char in ends.items():
        if char in seen:
            others = ", ".join(table.usual(group=best, avoid=poem)) if best else ""
            fix = f"another rhyme{' of ' + best if best else ''}" + (f" (e.g. {others})" if others else "")
            verdict.violations.append(Violation(k + 1, len(lines[k]), char,
                                                f"a rhyme not used in line {seen[char] + 1}", "重韵", fix))
        seen.setdefault(char, k)


def classify(verdict: Verdict, table: ToneTable) -> None:
    """仄韵 and 古体 poems are not 近体: say so (the violations stay in the JSON for who wants them)."""
    even_ends = [line[-1] for k, line in enumerate(verdict.lines) if k % 2 == 1]
    if all(table.verse_tones(c) == {ZE} or table.common_tone(c) == ZE for c in even_ends):
        verdict.kind, verdict.kind_note = "仄韵", f"not 近体: 仄韵 (the even lines end in 仄: {''.join(even_ends)})"
    tone_faults = [v for v in verdict.violations if v.rule in ("tone", "孤平", "三平尾")]
    broken = sorted({v.line for v in tone_faults if v.position == 2})  # 粘对 rests on the second character
    faulty_lines = sorted({v.line for v in tone_faults})
    if verdict.kind == "近体" and broken and len(faulty_lines) >= 2:
        verdict.kind = "古体"
        verdict.kind_note = (f"not 近体: 古体 (line {', '.join(map(str, broken))} breaks 粘对 at its second "
                             f"character, lines {', '.join(map(str, faulty_lines))} break the pattern)")
    if verdict.kind != "近体":
        verdict.accepted = []


def check(poem: str, level: str = "relaxed", table: ToneTable | None = None) -> Verdict:
    """The verdict on a poem (simplified or traditional; punctuation between lines as the corpus has it)."""
    if level not in LEVELS:
        raise LitPoetryError(f"level='{level}' is not one of {', '.join(LEVELS)}")
    table = table or tone_table()
    # character by character: t2s's phrases would rewrite a simplified 沈吟 as 沉吟, and a reading with it
    simple = "".join(map(simplified_char, poem))
    lines = [line.rstrip(PUNCTUATION) for line in split_lines(simple) if line.rstrip(PUNCTUATION)]
    tones = [table.readings_in(line) for line in lines]
    form = form_of(lines)
    if form is None:
        return Verdict(None, None, lines, [[MARKS[frozenset(t)] for t in row] for row in tones], level=level)
    common = [[table.common_tone(c) for c in line] for line in lines]  # what the 孤平 / 三平尾 rules read
    verdicts = [_against(p, lines, tones, common, table, level) for p in patterns(form)]
    # the pattern is read off the tones first; rhyme decides between patterns the tones fit equally
    verdict = min(verdicts, key=lambda v: (sum(x.rule not in ("rhyme", "重韵") for x in v.violations),
                                           sum(x.rule in ("rhyme", "重韵") for x in v.violations), -v.fixed_correct))
    classify(verdict, table)
    return verdict


def improbable_readings(verdict: Verdict, table: ToneTable | None = None, rhymes: bool = True) -> tuple[int, int]:
    """(positions standing on an improbable reading, positions counted) of a poem of regular shape: the fixed
    tone positions of its pattern (relaxed: 2nd, 4th, 6th, last) and its rhyme positions. A reading is
    improbable where the 平水韵 lists it but verse uses it under a tenth of the time (`ToneTable.verse_tones`,
    a word's reading aside: 苍龙 仄, 身难 仄), a rhyme where the character rarely rhymes in that group
    (`ToneTable.rhymes_on`: 栏干 in 先); `rhymes=False` counts the tone positions only."""
    if verdict.form is None:
        return 0, 0
    table = table or tone_table()
    improbable = counted = 0
    for k, (line, want) in enumerate(zip(verdict.lines, verdict.pattern.lines)):
        readings = table.readings_in(line)
        for j, char in enumerate(line):
            if verdict.pattern.fixed(k, j):
                counted += 1
                improbable += want[j] in table.tones_of(char) and want[j] not in readings[j]
    if verdict.rhyme_group and rhymes:
        for k in verdict.pattern.rhyme_lines:
            char, before = verdict.lines[k][-1], verdict.lines[k][-2:-1]
            in_group = verdict.rhyme_group in table.ping_groups(char)
            counted += k > 0
            improbable += k > 0 and in_group and verdict.rhyme_group not in table.rhymes_on(char, before)
    return improbable, counted


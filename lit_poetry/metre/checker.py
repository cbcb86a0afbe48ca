"""Check a poem against the patterns of its form: text in, verdict out (no torch).

    verdict = check("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    verdict.regular, verdict.pattern, verdict.violations, verdict.rhyme_groups

The form comes from the shape (4 or 8 lines of 5 or 7 characters); the pattern is the one of its four
with the fewest tone violations (then rhyme violations). A 多音字 counts as whichever reading fits.
Marks: 平 ○, 仄 ●, either ◐, unknown ？.
"""

from dataclasses import dataclass, field

from lit_poetry.metre.patterns import Pattern, accepted_variant, patterns, relaxed_rule_violations
from lit_poetry.metre.table import PING, ZE, ToneTable, rhyme_char, tone_table
from lit_poetry.text import FORMS, PUNCTUATION, split_lines, to_simplified

MARKS = {frozenset({PING}): "○", frozenset({ZE}): "●", frozenset({PING, ZE}): "◐", frozenset(): "？"}


@dataclass
class Violation:
    line: int  # 1-based
    position: int  # 1-based
    char: str
    expected: str  # 平 / 仄 / a rhyme group
    rule: str  # "tone", "孤平", "三平尾", "rhyme", "rhyme tone"

    def __str__(self) -> str:
        return f"line {self.line}, character {self.position} '{self.char}': {self.rule} (expected {self.expected})"


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

    @property
    def tones_ok(self) -> bool:
        return self.form is not None and not any(v.rule in ("tone", "孤平", "三平尾") for v in self.violations)

    @property
    def rhyme_ok(self) -> bool:
        return self.form is not None and self.rhyme_group is not None

    @property
    def regular(self) -> bool:
        return self.tones_ok and self.rhyme_ok

    def report(self) -> str:
        if self.form is None:
            return "not a regular form: 4 or 8 lines of 5 or 7 characters expected"
        out = [f"{self.pattern.name}: " + ("regular" if self.regular else f"{len(self.violations)} violation(s)")]
        for k, (line, marks) in enumerate(zip(self.lines, self.marks)):
            out += [line, "".join(marks) + "   " + self.pattern.lines[k]]
        if self.rhyme_group:
            out.append(f"rhyme: {rhyme_char(self.rhyme_group)} ({self.rhyme_group})")
        out += [f"  {v}" for v in self.violations]
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"form": self.form, "pattern": self.pattern.name if self.pattern else None, "regular": self.regular,
                "tones_ok": self.tones_ok, "rhyme_ok": self.rhyme_ok, "lines": self.lines, "marks": self.marks,
                "pattern_tones": list(self.pattern.lines) if self.pattern else None,
                "rhyme_group": self.rhyme_group, "rhyme_groups": self.rhyme_groups,
                "fixed_correct": self.fixed_correct, "fixed_total": self.fixed_total,
                "violations": [vars(v) for v in self.violations]}


def form_of(lines: list[str]) -> str | None:
    sizes = {len(line) for line in lines}
    return next((name for name, (chars, n) in FORMS.items() if sizes == {chars} and len(lines) == n), None)


def _against(pattern: Pattern, lines: list[str], tones: list[list[set[str]]], table: ToneTable,
             strict: bool) -> Verdict:
    verdict = Verdict(pattern.form, pattern, lines, [[MARKS[frozenset(t)] for t in row] for row in tones])
    for k, (line, row, wanted) in enumerate(zip(lines, tones, pattern.lines)):
        if not strict and accepted_variant(wanted, row):
            wanted = wanted[:-5] + "平平仄平仄"  # the 特拗 form of 平平平仄仄, read as regular
        for j, (char, can, want) in enumerate(zip(line, row, wanted)):
            fixed = pattern.fixed(k, j)
            verdict.fixed_total += fixed
            fits = not can or want in can  # an unknown character is not counted against the poem
            verdict.fixed_correct += fixed and fits
            if (fixed or strict) and not fits:
                verdict.violations.append(Violation(k + 1, j + 1, char, want, "tone"))
        if not strict:
            verdict.violations += [Violation(k + 1, len(line), line[-1], "", rule)
                                   for rule in relaxed_rule_violations(wanted, row)]
    shared: set[str] | None = None
    for k in pattern.rhyme_lines:
        groups = sorted(table.ping_groups(lines[k][-1]))
        verdict.rhyme_groups.append(groups)
        if k > 0:  # the first line may borrow a neighbouring group (首句借韵): only the even lines must share one
            shared = set(groups) if shared is None else shared & set(groups)
    if shared:
        verdict.rhyme_group = sorted(shared)[0]
    else:
        verdict.violations += [Violation(k + 1, len(lines[k]), lines[k][-1], "one 平声 group", "rhyme")
                               for k in pattern.rhyme_lines if k > 1]
    return verdict


def check(poem: str, strict: bool = False, table: ToneTable | None = None) -> Verdict:
    """The verdict on a poem (simplified or traditional; punctuation between lines as the corpus has it)."""
    table = table or tone_table()
    lines = [line.rstrip(PUNCTUATION) for line in split_lines(to_simplified(poem)) if line.rstrip(PUNCTUATION)]
    tones = [[table.tones_of(c) for c in line] for line in lines]
    form = form_of(lines)
    if form is None:
        return Verdict(None, None, lines, [[MARKS[frozenset(t)] for t in row] for row in tones])
    verdicts = [_against(p, lines, tones, table, strict) for p in patterns(form)]
    # the pattern is read off the tones first; rhyme decides between patterns the tones fit equally
    return min(verdicts, key=lambda v: (sum(x.rule != "rhyme" for x in v.violations),
                                        sum(x.rule == "rhyme" for x in v.violations), -v.fixed_correct))

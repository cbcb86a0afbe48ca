"""What a poem may write next: small constraints that each look at the text so far and say "force this
token", "allow only these tokens" or nothing; a row of the sampler combines its constraints.

- `StartWords`: the poem opens with these characters;
- `Acrostic`: line k opens with the k-th head (藏头诗), whatever punctuation ended the line before;
- `FixedForm`: 五言/七言 绝句/律诗: characters per line, ，/。 at line ends, the line count, then <eos>;
- `FreeForm`: the model's own line lengths, but punctuation never starts a line, <eos> never ends one
  mid-sentence, a line ends by MAX_FREE_LINE characters; with a line count (an acrostic's), the last
  line closes the sentence and <eos> follows;
- `Metre`: within a fixed form, the tone each position of one 近体诗 pattern asks for at the checker's
  level (relaxed: 一三五不论; strict: 王力's marking; every: every position; 孤平 and 三平尾 avoided the
  way the checker reads them), and at the rhyming positions only 平声 characters of one 平水韵 group (the
  group of the poem's first rhyme, or the one given), never one the poem has rhymed on already (重韵),
  and a 多音字 only on a 平 reading it commonly has. A 多音字 may stand wherever one of its readings fits.
<pad>, <bos> and <unk> are never allowed: every mask is built from Han characters, punctuation and <eos>.
Every constraint follows one protocol (`Constraint`): `decide(pos, level)` and `looser`, what each
looser level gives up. The first constraint that forces wins; the masks of the others are intersected.
When the intersection is empty, the looser levels are tried in turn (`Metre`: without the rhyme group,
then without the tone), so decoding never dead-ends, and the Allow names what was given up. A new kind
of constraint is one new class; `decide` below needs no change.
"""

import random
from dataclasses import dataclass

import torch

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.metre import PING, ZE, Pattern, patterns, tone_table
from lit_poetry.metre.patterns import LEVELS, allowed_tone, ruled_tones
from lit_poetry.metre.table import simplified_char
from lit_poetry.text import FORMS, LINE_END, PUNCTUATION, is_han, line_end, split_lines

MAX_FREE_LINE = 11  # form=free: a line this long must end (Tang lines have 3-11 characters)
METRES = ("off", *LEVELS)


@dataclass(frozen=True)
class Force:
    token: int


@dataclass(frozen=True)
class Allow:
    mask: torch.Tensor  # (V,) bool
    loosened: str = ""  # what a dead end made decoding give up here (the constraints' `looser`), else ""


Decision = Force | Allow | None


@dataclass(frozen=True)
class Position:
    """Where the next token goes, read from the text so far (no hidden counters)."""

    text: str
    line: int  # completed lines
    in_line: int  # characters of the current line

    @classmethod
    def after(cls, text: str) -> "Position":
        last_mark = max(text.rfind(p) for p in PUNCTUATION)
        return cls(text, sum(map(text.count, PUNCTUATION)), len(text) - (last_mark + 1))

    @property
    def sentence_closed(self) -> bool:
        return self.text == "" or self.text[-1] in LINE_END


class TokenClasses:
    """Boolean masks over the vocabulary (V,), built once per sampling call, on the sampling device."""

    def __init__(self, vocab: Vocabulary, device: torch.device | str = "cpu"):
        self.vocab = vocab
        self.han = torch.tensor([is_han(c) for c in vocab.itos], device=device)
        self.punct = torch.tensor([c in PUNCTUATION for c in vocab.itos], device=device)
        self.stop = torch.tensor([c in LINE_END for c in vocab.itos], device=device)
        eos = torch.zeros_like(self.han)
        eos[vocab.eos_id] = True
        self.han_or_eos = self.han | eos
        self.line = self.han | self.punct  # inside a line: a character or a mark that ends it
        self.line_or_stop = self.han | self.stop

    def id(self, char: str) -> int:
        return self.vocab.stoi[char]


class Constraint:
    """What every constraint is: `decide` says what may come at `pos`, at `level` 0 (strictest) up to
    len(looser); `looser[k]` names what level k+1 gives up (most constraints have no looser level)."""

    looser: tuple[str, ...] = ()

    def decide(self, pos: Position, level: int = 0) -> Decision:
        raise NotImplementedError


class StartWords(Constraint):
    def __init__(self, start: str, classes: TokenClasses):
        self.start, self.ids = start, [classes.id(c) for c in start]

    def decide(self, pos: Position, level: int = 0) -> Decision:
        return Force(self.ids[len(pos.text)]) if len(pos.text) < len(self.ids) else None


class Acrostic(Constraint):
    def __init__(self, heads: str, classes: TokenClasses):
        self.heads, self.ids = heads, [classes.id(c) for c in heads]

    def decide(self, pos: Position, level: int = 0) -> Decision:
        return Force(self.ids[pos.line]) if pos.in_line == 0 and pos.line < len(self.ids) else None


class FixedForm(Constraint):
    def __init__(self, form: str, classes: TokenClasses):
        if not {"，", "。"} <= classes.vocab.stoi.keys():
            raise LitPoetryError(f"form={form} needs ， and 。 but the model's vocabulary lacks them; use form=free")
        self.form, self.classes = form, classes
        self.chars, self.lines = FORMS[form]

    def decide(self, pos: Position, level: int = 0) -> Decision:
        if pos.line == self.lines:
            return Force(self.classes.vocab.eos_id)
        if pos.in_line < self.chars:
            return Allow(self.classes.han)
        return Force(self.classes.id(line_end(pos.line)))


class FreeForm(Constraint):
    def __init__(self, classes: TokenClasses, lines: int | None = None):
        self.classes, self.lines = classes, lines

    def decide(self, pos: Position, level: int = 0) -> Decision:
        c = self.classes
        if pos.in_line == 0:
            if self.lines and pos.line >= self.lines and pos.sentence_closed:
                return Force(c.vocab.eos_id)  # every line written and its sentence closed
            may_end = pos.text and pos.sentence_closed and not self.lines
            return Allow(c.han_or_eos if may_end else c.han)
        last_line = bool(self.lines) and pos.line >= self.lines - 1  # must close the sentence
        if pos.in_line >= MAX_FREE_LINE:
            return Allow(c.stop if last_line else c.punct)
        return Allow(c.line_or_stop if last_line else c.line)


def decide(constraints: list[Constraint], pos: Position, loosen: bool = True) -> Force | Allow:
    """The first Force, else the intersection of the Allows (None when no constraint has a mask); when
    that is empty and `loosen`, every constraint one level looser in turn, each at most at its loosest."""
    for level in range(1 + max(len(c.looser) for c in constraints) if loosen else 1):
        mask, given_up = None, []
        for constraint in constraints:
            own = min(level, len(constraint.looser))
            decision = constraint.decide(pos, own)
            if isinstance(decision, Force):
                return decision
            if decision is not None:
                mask = decision.mask if mask is None else mask & decision.mask
            if own:
                given_up.append(constraint.looser[own - 1])
        if mask is not None and bool(mask.any()):
            return Allow(mask, ", ".join(given_up))
    return Allow(mask)


class MetreClasses:
    """Masks over the vocabulary for the metre: characters with a 平 reading, with a 仄 reading, those the
    孤平 / 三平尾 rules read as 平 or as 仄 (a 多音字 by its common reading), and the characters that may
    rhyme on each 平水韵 group (a 多音字 only on a common 平 reading). Built once per vocabulary and device
    (`of`)."""

    # (characters, device) -> masks, shared by the process on purpose: the page builds them once for all its
    # requests, and a vocabulary's masks never change; a few vocabularies at most
    _built: dict[tuple, "MetreClasses"] = {}

    @classmethod
    def of(cls, classes: TokenClasses) -> "MetreClasses":
        key = (tuple(classes.vocab.itos), str(classes.han.device))
        if key not in cls._built:
            if len(cls._built) >= 4:
                cls._built.pop(next(iter(cls._built)))
            cls._built[key] = cls(classes)
        return cls._built[key]

    def __init__(self, classes: TokenClasses):
        table = tone_table()
        device = classes.han.device
        han = classes.han.tolist()
        tones = [table.verse_tones(c) if h else set() for c, h in zip(classes.vocab.itos, han)]  # as the checker
        self.ping = torch.tensor([PING in t for t in tones], device=device)
        self.ze = torch.tensor([ZE in t for t in tones], device=device)
        common = [table.common_tone(c) if len(t) == 2 else None for c, t in zip(classes.vocab.itos, tones)]
        self.ruled_ping = self.ping & torch.tensor([c != ZE for c in common], device=device)  # never read 仄
        self.ruled_ze = self.ze & torch.tensor([c != PING for c in common], device=device)  # never read 平
        groups: dict[str, list[int]] = {}
        for i, (c, h) in enumerate(zip(classes.vocab.itos, han)):
            for g in table.rhymes_on(c) if h else ():
                groups.setdefault(g, []).append(i)
        self.groups = {}
        for g, ids in groups.items():
            mask = torch.zeros_like(self.ping)
            mask[ids] = True
            self.groups[g] = mask
        self.table, self.any_group = table, torch.stack(list(self.groups.values())).any(0)
        # the characters whose rhyme group the character before them decides (行: 中行 庚, 数行 阳), by id
        closing = {simplified_char(word[-1]) for word in table.rhyme_words}
        self.two_groups = {i: c for i, (c, h) in enumerate(zip(classes.vocab.itos, han))
                           if h and simplified_char(c) in closing and len(table.rhymes_on(c)) > 1}
        # 多音字 read by their word, as the checker reads them (ToneTable.readings_in, on simplified
        # characters: the vocabulary keeps a few traditional ones, 乾 for 干): after a character, the tone
        # each 多音字 takes there ('ab<'); after a 多音字, the tone the next character gives it ('ab>')
        self.same_char: dict[str, list[int]] = {}  # simplified character -> the vocabulary's forms of it
        for i, (c, h) in enumerate(zip(classes.vocab.itos, han)):
            if h:
                self.same_char.setdefault(simplified_char(c), []).append(i)
        self.read_after: dict[str, list[tuple[int, str]]] = {}
        self.reads_prev: dict[str, list[tuple[int, str]]] = {}
        for word, tone in table.words.items():
            first, second, which = word
            if which == ">" or first in self.same_char:
                index = self.read_after if which == "<" else self.reads_prev
                index.setdefault(first, []).extend((i, tone) for i in self.same_char.get(second, ()))

    def group_named(self, name: str) -> str:
        """'东' or '上平一东' -> '上平一东'."""
        found = [g for g in self.groups if g == name or g[-1] == name]
        if not found:
            raise LitPoetryError(f"rhyme_group='{name}' is not a 平声 group of the 平水韵 the model can write "
                                 f"(e.g. {', '.join(sorted(g[-1] for g in self.groups)[:8])} ...)")
        return found[0]


class Metre(Constraint):
    """The tones of one pattern and, with `rhyme`, one 平声 group at the rhyming positions."""

    looser = ("rhyme (its group, no 重韵)", "tone")

    def __init__(self, pattern: Pattern, masks: MetreClasses, tones: str, rhyme: bool, group: str | None):
        if tones not in METRES:
            raise LitPoetryError(f"metre='{tones}' is not one of {', '.join(METRES)}")
        self.pattern, self.masks, self.tones, self.rhyme, self.group = pattern, masks, tones, rhyme, group
        self._ruled: dict[tuple[int, str], tuple[str | None, ...]] = {}  # a line is read again a step on

    def required_tone(self, k: int, line: str, j: int) -> tuple[str, torch.Tensor] | None:
        """The tone character j of line k must have and the characters that have it, None if it is free
        (metre off, or free at the level). `line`: the line's characters before j. The position is read by
        the checker's own rule (patterns.allowed_tone); where 孤平 or 三平尾 read it, a 多音字 counts by its
        common reading."""
        if self.tones == "off":
            return None
        need = allowed_tone(self.pattern.lines[k], j, self.tones, self.ruled(k, line))
        if need is None:
            return None
        masks = self.masks
        if need.rule:
            return need.tone, masks.ruled_ping if need.tone == PING else masks.ruled_ze
        return need.tone, masks.ping if need.tone == PING else masks.ze

    def ruled(self, k: int, line: str) -> tuple[str | None, ...]:
        """The tones the 孤平 and 三平尾 rules read for the characters of line k written so far, as the
        checker reads them (patterns.ruled_tones)."""
        if (k, line) not in self._ruled:
            table = self.masks.table
            self._ruled[k, line] = tuple(ruled_tones(self.pattern.lines[k], table.readings_in(line),
                                                     [table.common_tone(c) for c in line], self.tones))
        return self._ruled[k, line]

    def required_mask(self, pos: Position) -> torch.Tensor | None:
        """`required_tone`'s characters, with the 多音字 read by their word as the checker reads them: after
        the previous character, and the previous character as this one would make it read."""
        k, j, line = pos.line, pos.in_line, pos.text[len(pos.text) - pos.in_line :]
        here = self.required_tone(k, line, j)
        mask = None if here is None else here[1].clone()
        if here and j:
            for char_id, word_tone in self.masks.read_after.get(simplified_char(line[-1]), ()):
                mask[char_id] = word_tone == here[0]
        before = self.required_tone(k, line[:-1], j - 1) if j else None
        if before:
            for char_id, word_tone in self.masks.reads_prev.get(simplified_char(line[-1]), ()):
                if word_tone != before[0]:  # this character would make the previous one the wrong tone
                    mask = torch.ones_like(self.masks.ping) if mask is None else mask
                    mask[char_id] = False
        return mask

    def rhymes_next(self, pos: Position) -> bool:
        """Whether the character after the one going to `pos` must rhyme in a group already set (the given
        one, or the poem's first rhyme's): the poem's first rhyme, free to take any group, is not counted."""
        k = pos.line
        return (self.rhyme and k in self.pattern.rhyme_lines and pos.in_line == len(self.pattern.lines[k]) - 2
                and self.rhyme_groups(pos) is not None)

    def rhyme_groups(self, pos: Position) -> set[str] | None:
        """The groups the next rhyme may come from: the given one, else those every rhyme so far shares."""
        if self.group:
            return {self.group}
        lines = [line.rstrip(PUNCTUATION) for line in split_lines(pos.text)][: pos.line]  # the completed ones
        shared = None
        for k in self.pattern.rhyme_lines:
            if k < len(lines) and lines[k]:
                groups = self.masks.table.rhymes_on(lines[k][-1], lines[k][-2:-1])
                shared = groups if shared is None else shared & groups
        return shared

    def decide(self, pos: Position, level: int = 0) -> Allow | None:  # level 2: neither tone nor rhyme
        k, j = pos.line, pos.in_line
        if k >= len(self.pattern.lines) or j >= len(self.pattern.lines[k]) or level >= 2:
            return None
        mask = self.required_mask(pos)
        if self.rhyme and k in self.pattern.rhyme_lines and j == len(self.pattern.lines[k]) - 1 and level == 0:
            groups = self.rhyme_groups(pos)
            rhymes = (self.masks.any_group if groups is None else _union(self.masks, groups)).clone()
            if groups is not None:  # a character of two groups rhymes as its word does (中行 庚, 数行 阳)
                before = pos.text[-1:]
                off = [i for i, char in self.masks.two_groups.items()
                       if not self.masks.table.rhymes_on(char, before) & groups]
                rhymes[off] = False
            for line in split_lines(pos.text)[: pos.line]:  # no 重韵: a rhyme character once per poem
                rhymes[self.masks.same_char.get(simplified_char(line.rstrip(PUNCTUATION)[-1:]), [])] = False
            mask = rhymes if mask is None else mask & rhymes
        return None if mask is None else Allow(mask)


def _union(masks: MetreClasses, groups: set[str]) -> torch.Tensor:
    out = torch.zeros_like(masks.ping)
    for g in groups:
        if g in masks.groups:
            out |= masks.groups[g]
    return out


def _fits(constraints: list[Constraint], text: str, char_id: int, pos: Position | None = None) -> bool:
    """Whether the constraints (at their strictest) allow `char_id` after `text`."""
    decision = decide(constraints, pos or Position.after(text), loosen=False)
    if isinstance(decision, Force):
        return decision.token == char_id
    return decision.mask is None or bool(decision.mask[char_id])


def check_metre(metre: str, rhyme_group: str | None, classes: TokenClasses,
                metre_masks: MetreClasses | None = None) -> None:
    """Raise for a metre or a rhyme group that does not exist (metre=auto: what generation resolves)."""
    if metre not in ("auto", *METRES):
        raise LitPoetryError(f"metre='{metre}' is not one of auto, {', '.join(METRES)}")
    if rhyme_group:
        (metre_masks or MetreClasses.of(classes)).group_named(rhyme_group)


def poem_constraints(classes: TokenClasses, start: str, acrostic: str, form: str, metre: str = "off",
                     rhyme: bool = False, rhyme_group: str | None = None, metre_masks: MetreClasses | None = None,
                     rng: random.Random | None = None) -> list[Constraint]:
    """The constraints of one poem, checked: start words and acrostic heads must fit the form, and under
    `metre`/`rhyme` the pattern, picked at random (`rng`) among the form's four that they fit, those of
    the usual first line first (首句入韵 in 七言, not in 五言, as most Tang poems)."""
    if form != "free" and form not in FORMS:
        raise LitPoetryError(f"form='{form}' is not one of auto, free, {', '.join(FORMS)}")
    check_metre(metre, rhyme_group, classes, metre_masks)
    if (metre != "off" or rhyme or rhyme_group) and form not in FORMS:
        raise LitPoetryError(f"metre and rhyme need a fixed form: add form={'|'.join(FORMS)}")
    if form in FORMS and len(acrostic) > FORMS[form][1]:
        raise LitPoetryError(f"acrostic '{acrostic}' has {len(acrostic)} characters but "
                             f"form={form} has {FORMS[form][1]} lines")
    shape = FixedForm(form, classes) if form in FORMS else FreeForm(classes, len(acrostic) or None)
    rest = ([Acrostic(acrostic, classes)] if acrostic else []) + [shape]
    for k, char in enumerate(start):  # each start character must be what the others allow there
        if not _fits(rest, start[:k], classes.id(char)):
            given = ([f"{FORMS[form][0]} characters a line"] if form in FORMS else []) + (
                [f"acrostic '{acrostic}'"] if acrostic else [])
            raise LitPoetryError(f"start '{start}' does not fit form={form}"
                                 f"{' (' + ', '.join(given) + ')' if given else ''} at '{char}'")
    if metre != "off" or rhyme or rhyme_group:
        masks = metre_masks or MetreClasses.of(classes)
        group = masks.group_named(rhyme_group) if rhyme_group else None
        candidates = [Metre(p, masks, metre, bool(rhyme or rhyme_group), group) for p in patterns(form)]
        fitting = [m for m in candidates
                   if all(_fits([m], start[:k], classes.id(c)) for k, c in enumerate(start))
                   and all(_fits([m], "", classes.id(h), Position("", line, 0)) for line, h in enumerate(acrostic))]
        if not fitting:
            raise LitPoetryError(f"start '{start}' and acrostic '{acrostic}' fit no pattern of form={form} under "
                                 f"metre={metre}; try metre=relaxed, or other characters")
        usual = [m for m in fitting if m.pattern.first_rhymes == (FORMS[form][0] == 7)] or fitting
        rest.append((rng or random.Random(0)).choice(usual))  # 七言 rhyme their first line, 五言 seldom
    return ([StartWords(start, classes)] if start else []) + rest

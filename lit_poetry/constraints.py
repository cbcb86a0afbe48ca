"""What a poem may write next: small constraints that each look at the text so far and say "force this
token", "allow only these tokens" or nothing; a row of the sampler combines its constraints.

- `StartWords`: the poem opens with these characters;
- `Acrostic`: line k opens with the k-th head (藏头诗), whatever punctuation ended the line before;
- `FixedForm`: 五言/七言 绝句/律诗: characters per line, ，/。 at line ends, the line count, then <eos>;
- `FreeForm`: the model's own line lengths, but punctuation never starts a line, <eos> never ends one
  mid-sentence, a line ends by MAX_FREE_LINE characters; with a line count (an acrostic's), the last
  line closes the sentence and <eos> follows.
<pad>, <bos> and <unk> are never allowed: every mask is built from Han characters, punctuation and <eos>.
The first constraint that forces wins; the masks of the others are intersected.
"""

from dataclasses import dataclass

import torch

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.text import FORMS, LINE_END, PUNCTUATION, is_han, line_end

MAX_FREE_LINE = 11  # form=free: a line this long must end (Tang lines have 3-11 characters)


@dataclass(frozen=True)
class Force:
    token: int


@dataclass(frozen=True)
class Allow:
    mask: torch.Tensor  # (V,) bool


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
        return cls(text, sum(c in PUNCTUATION for c in text), len(text) - (last_mark + 1))

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


class StartWords:
    def __init__(self, start: str, classes: TokenClasses):
        self.start, self.ids = start, [classes.id(c) for c in start]

    def decide(self, pos: Position) -> Decision:
        return Force(self.ids[len(pos.text)]) if len(pos.text) < len(self.ids) else None


class Acrostic:
    def __init__(self, heads: str, classes: TokenClasses):
        self.heads, self.ids = heads, [classes.id(c) for c in heads]

    def decide(self, pos: Position) -> Decision:
        return Force(self.ids[pos.line]) if pos.in_line == 0 and pos.line < len(self.ids) else None


class FixedForm:
    def __init__(self, form: str, classes: TokenClasses):
        if not {"，", "。"} <= classes.vocab.stoi.keys():
            raise LitPoetryError(f"form={form} needs ， and 。 but the model's vocabulary lacks them; use form=free")
        self.form, self.classes = form, classes
        self.chars, self.lines = FORMS[form]
        self.max_len = (self.chars + 1) * self.lines

    def decide(self, pos: Position) -> Decision:
        if pos.line == self.lines:
            return Force(self.classes.vocab.eos_id)
        if pos.in_line < self.chars:
            return Allow(self.classes.han)
        return Force(self.classes.id(line_end(pos.line)))


class FreeForm:
    def __init__(self, classes: TokenClasses, lines: int | None = None):
        self.classes, self.lines = classes, lines

    def decide(self, pos: Position) -> Decision:
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


def decide(constraints: list, pos: Position) -> Force | Allow:
    """The first Force, else the intersection of the Allows (every row has a form, so one exists)."""
    mask = None
    for constraint in constraints:
        decision = constraint.decide(pos)
        if isinstance(decision, Force):
            return decision
        if decision is not None:
            mask = decision.mask if mask is None else mask & decision.mask
    return Allow(mask)


def poem_constraints(classes: TokenClasses, start: str, acrostic: str, form: str) -> list:
    """The constraints of one poem, checked: start words and acrostic heads must fit the form."""
    if form != "free" and form not in FORMS:
        raise LitPoetryError(f"form='{form}' is not one of free, {', '.join(FORMS)}")
    if form in FORMS and len(acrostic) > FORMS[form][1]:
        raise LitPoetryError(f"acrostic '{acrostic}' has {len(acrostic)} characters but "
                             f"form={form} has {FORMS[form][1]} lines")
    shape = FixedForm(form, classes) if form in FORMS else FreeForm(classes, len(acrostic) or None)
    rest = ([Acrostic(acrostic, classes)] if acrostic else []) + [shape]
    for k, char in enumerate(start):  # each start character must be what the others allow there
        decision = decide(rest, Position.after(start[:k]))
        token = classes.id(char)
        if not (decision.token == token if isinstance(decision, Force) else bool(decision.mask[token])):
            raise LitPoetryError(f"start '{start}' does not fit form={form} (acrostic '{acrostic}') at '{char}'")
    return ([StartWords(start, classes)] if start else []) + rest

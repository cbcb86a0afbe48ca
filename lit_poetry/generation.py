"""Poem sampling: one batched loop over steps, with rules that say what each row may write next.

A row's rule comes from the text it has so far (no hidden counters):
- start words and acrostic heads are forced characters;
- `form` (五言/七言 绝句/律诗) fixes characters per line, ，/。 at line ends, the line count and <eos>;
- `form="free"` keeps the model's own line lengths but never lets punctuation start a line or <eos> end
  one mid-sentence; <pad>, <bos> and <unk> are never written.
"""

from dataclasses import dataclass

import torch

from lit_poetry.data.cleaning import LINE_END, PUNCTUATION, is_han
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError

FORMS = {"wujue": (5, 4), "qijue": (7, 4), "wulv": (5, 8), "qilv": (7, 8)}  # (characters per line, lines)
REPORT_STARTS = "日红山夜湖海月"
MAX_FREE_LINE = 11  # form=free: a line this long must end (Tang lines have 3-11 characters)


@dataclass(frozen=True)
class Row:
    start: str  # forced opening characters
    acrostic: str  # forced first character of each line


class Rules:
    """Allowed-token masks over the vocabulary and the per-row rule for the next token."""

    def __init__(self, vocab: Vocabulary, form: str, device: torch.device):
        if form != "free" and form not in FORMS:
            raise LitPoetryError(f"form='{form}' is not one of free, {', '.join(FORMS)}")
        if form in FORMS and not {"，", "。"} <= set(vocab.itos):
            raise LitPoetryError(f"form={form} needs ， and 。 but the model's vocabulary lacks them; use form=free")
        self.vocab, self.form = vocab, form
        han = torch.tensor([is_han(c) for c in vocab.itos], device=device)  # (V,)
        punct = torch.tensor([c in PUNCTUATION for c in vocab.itos], device=device)
        stop = torch.tensor([c in LINE_END for c in vocab.itos], device=device)
        eos = torch.zeros_like(han)
        eos[vocab.eos_id] = True
        self.masks = {"han": han, "line": han | punct, "han_or_eos": han | eos, "line_or_stop": han | stop,
                      "punct": punct, "stop": stop}

    def next(self, row: Row, text: str) -> tuple[str, int | str]:
        """("force", token id) or ("mask", mask name) for the token after `text`."""
        if len(text) < len(row.start):
            return "force", self.vocab.stoi[row.start[len(text)]]
        return self.rule(row, text)

    def rule(self, row: Row, text: str) -> tuple[str, int | str]:
        """What the form and the acrostic allow after `text` (start words aside)."""
        line_no = sum(c in PUNCTUATION for c in text)  # completed lines
        in_line = len(text) - (max(text.rfind(p) for p in PUNCTUATION) + 1)  # characters of the current line
        if in_line == 0 and line_no < len(row.acrostic):
            return "force", self.vocab.stoi[row.acrostic[line_no]]
        if self.form in FORMS:
            chars, lines = FORMS[self.form]
            if line_no == lines:
                return "force", self.vocab.eos_id
            if in_line < chars:
                return "mask", "han"
            return "force", self.vocab.stoi["，" if line_no % 2 == 0 else "。"]
        if in_line == 0:
            ended = text == "" or text[-1] in LINE_END
            if row.acrostic and line_no >= len(row.acrostic) and ended:
                return "force", self.vocab.eos_id  # every head placed and its sentence closed
            return "mask", "han_or_eos" if text and ended and not row.acrostic else "han"
        last_head_line = bool(row.acrostic) and line_no >= len(row.acrostic) - 1  # must close the sentence
        if in_line >= MAX_FREE_LINE:
            return "mask", "stop" if last_head_line else "punct"
        return "mask", "line_or_stop" if last_head_line else "line"

    def check(self, row: Row) -> None:
        """Refuse start words / acrostics that cannot fit the rules, before any sampling."""
        text = ""
        for char in row.start:
            kind, what = self.rule(row, text)
            ok = self.vocab.stoi[char] == what if kind == "force" else bool(self.masks[what][self.vocab.stoi[char]])
            if not ok:
                raise LitPoetryError(f"start '{row.start}' does not fit form={self.form} "
                                     f"(acrostic '{row.acrostic}') at '{char}'")
            text += char
        if self.form in FORMS and len(row.acrostic) > FORMS[self.form][1]:
            raise LitPoetryError(f"acrostic '{row.acrostic}' has {len(row.acrostic)} characters but "
                                 f"form={self.form} has {FORMS[self.form][1]} lines")


def check_in_vocab(text: str, vocab: Vocabulary, what: str) -> None:
    """Raise naming the first character the model cannot write, with in-vocabulary alternatives."""
    for char in text:
        if char in vocab and (is_han(char) or (what != "acrostic" and char in PUNCTUATION)):
            continue
        hint = suggest(char, vocab)
        raise LitPoetryError(f"{what} character '{char}' is not in the model's vocabulary" +
                             (f"; try {hint}" if hint else "; choose another character"))


def suggest(char: str, vocab: Vocabulary, n: int = 5) -> str:
    """The simplified form if the model knows it, else known characters with the same pinyin."""
    from lit_poetry.data.corpora import to_simplified

    simple = to_simplified(char)
    if simple != char and simple in vocab:
        return f"'{simple}' (simplified)"
    if not is_han(char):
        return ""
    from pypinyin import lazy_pinyin  # only on this error path: keeps start-up fast

    sound = lazy_pinyin(simple)[0]
    same = [c for c in vocab.itos[4:] if is_han(c) and lazy_pinyin(c)[0] == sound][:n]  # vocab is by frequency
    return f"a character read '{sound}': {' '.join(same)}" if same else ""


@torch.no_grad()
def sample(model, vocab: Vocabulary, starts: list[str] | None = None, num_samples: int = 1, *,
           acrostic: str = "", form: str = "free", prefix: str = "", temperature: float = 0.8,
           top_k: int = 0, top_p: float = 1.0, max_len: int = 64, seed: int | None = None) -> list[dict]:
    """Poems as dicts {start, poem, lines}: `num_samples` for each start word (one batch for all).

    temperature <= 0 is greedy decoding. `prefix` is read before the poem (mood) and not printed."""
    starts = list(starts) if starts else [""]
    for s in starts:
        check_in_vocab(s, vocab, "start")
    check_in_vocab(acrostic, vocab, "acrostic")
    check_in_vocab(prefix.rstrip(PUNCTUATION), vocab, "prefix")
    if acrostic and any(s and s[0] != acrostic[0] for s in starts):
        raise LitPoetryError(f"start words {starts} must begin with the acrostic's first character '{acrostic[0]}'")
    device = next(model.parameters()).device
    rules = Rules(vocab, form, device)
    rows = [Row(s, acrostic) for s in starts for _ in range(num_samples)]
    for row in set(rows):
        rules.check(row)
    if form in FORMS:
        max_len = FORMS[form][0] * FORMS[form][1] + FORMS[form][1]
    elif acrostic:  # room for every head's line
        max_len = max(max_len, len(acrostic) * (MAX_FREE_LINE + 1))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())

    was_training = model.training
    model.eval()
    R = len(rows)
    lead = [vocab.bos_id] + vocab.encode(prefix + ("。" if prefix and prefix[-1] not in LINE_END else ""))
    ids = torch.tensor([lead] * R, device=device)  # (R, P): <bos> and the mood prefix, same for every row
    logits, state = model(ids)  # (R, P, V)
    logits = logits[:, -1].float()  # (R, V)
    texts, done = [""] * R, [False] * R
    for _ in range(max_len + 1):  # max_len characters, then <eos>
        allowed = torch.zeros_like(logits, dtype=torch.bool)  # (R, V)
        forced = torch.full((R,), -1, dtype=torch.long, device=device)  # (R,)
        for r, row in enumerate(rows):
            kind, what = rules.next(row, texts[r]) if not done[r] else ("force", vocab.eos_id)
            if kind == "force":
                forced[r] = what
            else:
                allowed[r] = rules.masks[what]
        if temperature <= 0:
            choice = logits.masked_fill(~allowed, float("-inf")).argmax(-1)  # (R,)
        else:
            choice = _sample_masked(logits / temperature, allowed, top_k, top_p, generator)  # (R,)
        next_ids = torch.where(forced >= 0, forced, choice)  # (R,)
        for r, token in enumerate(next_ids.tolist()):
            if done[r]:
                continue
            if token != vocab.eos_id:
                texts[r] += vocab.itos[token]
            done[r] = token == vocab.eos_id or len(texts[r]) >= max_len  # at most max_len characters
        if all(done):
            break
        logits, state = model(next_ids[:, None], state)  # (R, 1, V)
        logits = logits[:, -1].float()  # (R, V)
    model.train(was_training)
    return [{"start": row.start, "poem": text, "lines": split_lines(text)} for row, text in zip(rows, texts)]


def _sample_masked(logits: torch.Tensor, allowed: torch.Tensor, top_k: int, top_p: float,
                   generator: torch.Generator) -> torch.Tensor:
    """One token per row from softmax(logits) restricted to `allowed`, top-k, then nucleus top-p."""
    logits = logits.masked_fill(~allowed, float("-inf"))  # (R, V)
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]  # (R, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)  # (R, V)
        cum = torch.softmax(sorted_logits, -1).cumsum(-1)  # (R, V)
        drop_sorted = cum - torch.softmax(sorted_logits, -1) >= top_p  # keep the smallest prefix reaching p
        logits = logits.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
    probs = torch.softmax(logits, dim=-1)  # (R, V); rows with nothing allowed are forced by the caller
    probs = torch.nan_to_num(probs, nan=0.0)
    probs[probs.sum(-1) == 0, 0] = 1.0  # a forced row: any valid index, it is overridden
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (R,)


def split_lines(poem: str) -> list[str]:
    """Verse lines (句): a line ends at any punctuation mark."""
    lines, current = [], ""
    for char in poem:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return lines + ([current] if current else [])

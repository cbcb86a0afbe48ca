"""Poem sampling: one batched loop over steps; each row's constraints (constraints.py) say what it may
write next: start words, acrostic heads, the form.

    poems = sample(model, vocab, ["日", "月"], num_samples=2, form="wujue", temperature=0.8, seed=0)
"""

import random

import torch

from lit_poetry.constraints import (
    MAX_FREE_LINE,
    Allow,
    Force,
    Metre,
    MetreClasses,
    Position,
    TokenClasses,
    decide,
    poem_constraints,
)
from lit_poetry.data.cleaning import clean_line
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.text import FORMS, LINE_END, PUNCTUATION, is_han, split_lines, to_simplified, to_traditional

REPORT_STARTS = "日红山夜湖海月"
SCRIPTS = ("simplified", "traditional")


def normalise_inputs(starts: list[str], acrostic: str, prefix: str) -> tuple[list[str], str, str, str]:
    """Take input as people type it: traditional characters become simplified (OpenCC t2s, as the corpus
    was converted), spaces go, and a prefix takes the corpus's punctuation (`秋风,萧瑟` -> `秋风，萧瑟`).
    Returns the inputs and a one-line note of what changed ("" when nothing did)."""
    new_starts = [to_simplified(s.replace(" ", "")) for s in starts]
    new_acrostic = to_simplified(acrostic.replace(" ", ""))
    new_prefix = to_simplified(clean_line(prefix))
    changes = [f"{what} {old} -> {new}" for what, old, new in [
        *(("start", a, b) for a, b in zip(starts, new_starts)), ("acrostic", acrostic, new_acrostic),
        ("prefix", prefix, new_prefix)] if old != new]
    note = "note: input written as the corpus is (simplified, full-width punctuation): " + "; ".join(changes)
    return new_starts, new_acrostic, new_prefix, note if changes else ""


def check_in_vocab(text: str, vocab: Vocabulary, what: str) -> None:
    """Raise naming the first character the model cannot write, with in-vocabulary alternatives."""
    for char in text:
        if char in vocab and (is_han(char) or (what != "acrostic" and char in PUNCTUATION)):
            continue
        hint = suggest(char, vocab)
        raise LitPoetryError(f"{what} character '{char}' is not in the model's vocabulary" +
                             (f"; try {hint}" if hint else "; choose another character"))


def suggest(char: str, vocab: Vocabulary, n: int = 5) -> str:
    """Known characters with the same pinyin (inputs are simplified by then, see normalise_inputs)."""
    if not is_han(char):
        return ""
    from pypinyin import lazy_pinyin  # only on this error path: keeps start-up fast

    sound = lazy_pinyin(char)[0]
    same = [c for c in vocab.itos[4:] if is_han(c) and lazy_pinyin(c)[0] == sound][:n]  # vocab is by frequency
    return f"a character read '{sound}': {' '.join(same)}" if same else ""


def prepare_rows(vocab: Vocabulary, classes: TokenClasses, starts: list[str] | None, num_samples: int,
                 acrostic: str, form: str, prefix: str, metre: str, rhyme: bool, rhyme_group: str | None,
                 seed: int | None) -> tuple[list[tuple[str, list]], str, list[str]]:
    """The request, checked and normalised: one (start, constraints) row per poem, the prefix as the
    model reads it, and the notes for the reader (what the input conversion changed)."""
    starts, acrostic, prefix, note = normalise_inputs(list(starts) if starts else [""], acrostic, prefix)
    for s in starts:
        check_in_vocab(s, vocab, "start")
    check_in_vocab(acrostic, vocab, "acrostic")
    check_in_vocab(prefix.rstrip(PUNCTUATION), vocab, "prefix")
    if acrostic and any(s and s[0] != acrostic[0] for s in starts):
        raise LitPoetryError(f"start words {starts} must begin with the acrostic's first character '{acrostic[0]}'")
    if metre != "off" or rhyme or rhyme_group:  # one pattern per poem: each row its own constraints
        masks, rng = MetreClasses.of(classes), random.Random(seed)
        rows = [(s, poem_constraints(classes, s, acrostic, form, metre, rhyme, rhyme_group, masks, rng))
                for s in starts for _ in range(num_samples)]
    else:
        per_start = {s: poem_constraints(classes, s, acrostic, form) for s in dict.fromkeys(starts)}  # checked
        rows = [(s, per_start[s]) for s in starts for _ in range(num_samples)]
    return rows, prefix, [note] if note else []


@torch.no_grad()
def decode(model, vocab: Vocabulary, rows: list[tuple[str, list]], prefix: str, max_len: int,
           temperature: float, top_k: int, top_p: float, seed: int | None
           ) -> tuple[list[str], list[list[float]], list[list[str]]]:
    """One batch of rows, each under its constraints: per row its text, each character's probability
    under the model (temperature 1, no constraint), and where a dead end loosened a constraint."""
    device = next(model.parameters()).device
    loosened: list[list[str]] = [[] for _ in rows]
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
    probs: list[list[float]] = [[] for _ in rows]
    for _ in range(max_len + 1):  # max_len characters, then <eos>
        allowed = torch.zeros_like(logits, dtype=torch.bool)  # (R, V)
        forced = torch.full((R,), -1, dtype=torch.long, device=device)  # (R,)
        for r, (_, constraints) in enumerate(rows):
            pos = Position.after(texts[r])
            decision = decide(constraints, pos) if not done[r] else Force(vocab.eos_id)
            if isinstance(decision, Allow):
                allowed[r] = decision.mask
                if decision.loosened:  # a dead end: said, not hidden
                    loosened[r].append(f"line {pos.line + 1}, character {pos.in_line + 1}: no character "
                                       f"fitted the {decision.loosened}, which was dropped there")
            else:
                forced[r] = decision.token
        if temperature <= 0:
            choice = logits.masked_fill(~allowed, float("-inf")).argmax(-1)  # (R,)
        else:
            choice = _sample_masked(logits / temperature, allowed, top_k, top_p, generator)  # (R,)
        next_ids = torch.where(forced >= 0, forced, choice)  # (R,)
        # p(token) unconstrained at temperature 1: what the model thinks of the character, shown by the page
        p_next = torch.softmax(logits, -1).gather(1, next_ids[:, None]).squeeze(1).tolist()  # (R,)
        for r, token in enumerate(next_ids.tolist()):
            if done[r]:
                continue
            if token != vocab.eos_id:
                texts[r] += vocab.itos[token]
                probs[r].append(p_next[r])
            done[r] = token == vocab.eos_id or len(texts[r]) >= max_len  # at most max_len characters
        if all(done):
            break
        logits, state = model(next_ids[:, None], state)  # (R, 1, V)
        logits = logits[:, -1].float()  # (R, V)
    model.train(was_training)
    return texts, probs, loosened


def sample(model, vocab: Vocabulary, starts: list[str] | None = None, num_samples: int = 1, *,
           acrostic: str = "", form: str = "free", prefix: str = "", temperature: float = 0.8,
           top_k: int = 0, top_p: float = 1.0, max_len: int = 64, seed: int | None = None,
           metre: str = "off", rhyme: bool = False, rhyme_group: str | None = None) -> list[dict]:
    """`num_samples` poems for each start word (one batch for all), each a dict with the same keys:
    start, poem, lines, probabilities (each character's under the model, temperature 1, no constraint),
    pattern (the 近体诗 pattern's name under `metre`/`rhyme`, else None), loosened (where a dead end
    made decoding drop the rhyme or the tone) and notes (what the input conversion changed: traditional
    characters and half-width punctuation are written as the corpus is). The callers show the notes.

    temperature <= 0 is greedy decoding. `prefix` is read before the poem (mood) and not printed.
    `metre` (off | relaxed | strict | every) and `rhyme` hold a fixed form to one 近体诗 pattern per poem,
    chosen at random among those its start words and acrostic fit."""
    classes = TokenClasses(vocab, next(model.parameters()).device)
    rows, prefix, notes = prepare_rows(vocab, classes, starts, num_samples, acrostic, form, prefix, metre,
                                       rhyme, rhyme_group, seed)
    if form in FORMS:
        max_len = (FORMS[form][0] + 1) * FORMS[form][1]
    elif acrostic:  # room for every head's line
        max_len = max(max_len, len(acrostic.replace(" ", "")) * (MAX_FREE_LINE + 1))
    texts, probs, loosened = decode(model, vocab, rows, prefix, max_len, temperature, top_k, top_p, seed)
    patterns = [next((c.pattern.name for c in constraints if isinstance(c, Metre)), None) for _, constraints in rows]
    return [{"start": start, "poem": text, "lines": split_lines(text), "probabilities": p, "pattern": pattern,
             "loosened": where, "notes": list(notes)}
            for (start, _), text, p, pattern, where in zip(rows, texts, probs, patterns, loosened)]


def notes_of(poems: list[dict]) -> list[str]:
    """What a reader should be told about a request's poems: the input notes (shared by all), then each
    poem's loosened positions."""
    notes = list(poems[0]["notes"]) if poems else []
    return notes + [f"note: {p['start'] or 'poem'}: {where}" for p in poems for where in p["loosened"]]


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


def in_script(poems: list[dict], script: str) -> list[dict]:
    """`script="traditional"` adds `poem_traditional` and `lines_traditional` (OpenCC s2t) to each poem."""
    if script not in SCRIPTS:
        raise LitPoetryError(f"script='{script}' is not one of {', '.join(SCRIPTS)}")
    if script == "simplified":
        return poems
    converted = [to_traditional(p["poem"]) for p in poems]
    return [{**p, "poem_traditional": t, "lines_traditional": split_lines(t)} for p, t in zip(poems, converted)]


def lines_in(poem: dict, script: str) -> list[str]:
    """A poem's lines in the script it was asked for (after `in_script`)."""
    return poem["lines_traditional"] if script == "traditional" else poem["lines"]

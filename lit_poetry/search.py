"""Writing poems by search, a line at a time: each poem of a request has `candidates` rows in one batch;
all of them write the next line from the same state, under the poem's constraints (constraints.py) and
leaning towards its conventions (scoring.Steering); when every row has ended its line, the best line by
`scoring.line_score` is kept, its state copied to the poem's other rows, and the next line begins.
A line that any poem of the request already has is never chosen again (no line twice, across poems too).
With `candidates=1` it is plain sampling: one row a poem, no steering, no choosing.

In free form a poem ends where its first row writes <eos> (the decision to stop is sampled, not chosen:
the likeliest candidate would often be to stop at once), or at `max_len`, cut back to its last sentence end
(。？！；).
"""

import math
from dataclasses import dataclass, field

import torch

from lit_poetry.constraints import MAX_FREE_LINE, Constraint, FixedForm, Force, Position, decide
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.models.base import LanguageModel
from lit_poetry.parallelism import pair_table
from lit_poetry.scoring import Steering, Weights, line_score
from lit_poetry.text import LINE_END, PUNCTUATION, split_lines


@dataclass(frozen=True)
class Search:
    """How poems are drawn: the sampling distribution, and how many candidate lines compete per line."""

    candidates: int = 8  # rows per poem; 1 = plain sampling
    temperature: float = 0.7  # <= 0: greedy (then one row a poem)
    top_k: int = 0
    top_p: float = 0.9
    weights: Weights = field(default_factory=Weights)

    @property
    def rows_per_poem(self) -> int:
        return 1 if self.temperature <= 0 else max(1, self.candidates)


@dataclass
class Draft:
    """One poem while it is written: its constraints and what it has kept so far."""

    constraints: list[Constraint]
    text: str = ""
    probabilities: list[float] = field(default_factory=list)
    loosened: list[str] = field(default_factory=list)
    ended: bool = False


@torch.no_grad()
def write(model: LanguageModel, vocab: Vocabulary, constraints: list[list[Constraint]], head: str, max_len: int,
          search: Search, seed: int | None) -> list[Draft]:
    """One Draft per constraints list, each under its constraints, written by `search` after `<bos>` and
    `head` (a title and a mood prefix, read and not written). A poem of a fixed form has that form's
    shape and length (its FixedForm constraint), free verse at most `max_len` characters."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())
    was_training = model.training
    model.eval()
    K = search.rows_per_poem
    drafts = [Draft(c) for c in constraints]
    R = len(drafts) * K
    steering = Steering(vocab, pair_table(), search.weights, device) if K > 1 else None
    shapes = [next(((c.chars, c.lines) for c in poem if isinstance(c, FixedForm)), None) for poem in constraints]
    lengths = [(shape[0] + 1) * shape[1] if shape else max_len for shape in shapes]
    row_shapes = [shapes[r // K] for r in range(R)]
    lead = [vocab.bos_id] + vocab.encode(head)
    logits, state = model(torch.tensor([lead] * R, device=device))  # (R, P, V)
    logits = logits[:, -1].float()  # (R, V)
    lines = [""] * R  # each row's line in progress (with its closing mark, or "\n" for <eos>)
    logps: list[list[float]] = [[] for _ in range(R)]
    notes: list[list[str]] = [[] for _ in range(R)]
    paused = [False] * R  # the row has ended its line (or its poem) and waits for the others
    used_lines: set[str] = set()  # every kept line of the request, without punctuation
    for _ in range((max(lengths) + 1) * (MAX_FREE_LINE + 2)):  # every line of every row ends by MAX_FREE_LINE + 1
        if all(d.ended for d in drafts):
            break
        texts = [drafts[r // K].text + lines[r] for r in range(R)]
        frozen = [paused[r] or drafts[r // K].ended for r in range(R)]
        allowed, forced = _constrain(drafts, texts, frozen, K, notes, logits.shape[-1], vocab.eos_id)
        allowed, forced = allowed.to(device), forced.to(device)
        scaled = logits if search.temperature <= 0 else logits / search.temperature
        if steering is not None:
            kept = [split_lines(d.text) for d in drafts]  # each poem's lines so far
            scaled = scaled + steering.shifts(texts, [kept[r // K] for r in range(R)], row_shapes)
        choice = (scaled.masked_fill(~allowed, float("-inf")).argmax(-1) if search.temperature <= 0
                  else _sample_masked(scaled, allowed, search.top_k, search.top_p, generator))  # (R,)
        tokens = torch.where(forced >= 0, forced, choice)  # (R,)
        # log p(token) unconstrained at temperature 1: what the model thinks of the character
        logp = torch.log_softmax(logits, -1).gather(1, tokens[:, None]).squeeze(1).tolist()  # (R,)
        for r, token in enumerate(tokens.tolist()):
            if not frozen[r]:
                lines[r] += "\n" if token == vocab.eos_id else vocab.itos[token]
                logps[r].append(logp[r])
                paused[r] = token == vocab.eos_id or lines[r][-1] in PUNCTUATION or len(texts[r]) + 1 >= lengths[r // K]
        new_logits, new_state = model(tokens[:, None], state)  # (R, 1, V)
        still = torch.tensor(frozen, device=device)  # (R,): rows that wait keep their logits and state
        logits = torch.where(still[:, None], logits, new_logits[:, -1].float())
        state = model.keep_rows(still, state, new_state)
        source = list(range(R))  # the row each row continues from: the kept line's, where a poem chose
        for p, draft in enumerate(drafts):
            rows = range(p * K, p * K + K)
            if not draft.ended and all(paused[r] for r in rows):  # every row has its line: keep the best
                shape = shapes[p]
                best = _choose(draft, rows, lines, logps, used_lines, shape[1] if shape else 0, search.weights)
                _keep(draft, lines[best], logps[best], notes[best], lengths[p], used_lines)
                for r in rows:
                    source[r] = best
                    lines[r], logps[r], notes[r], paused[r] = "", [], [], False
        if source != list(range(R)):
            logits, state = logits[source], model.take_rows(state, torch.tensor(source, device=device))
    model.train(was_training)
    return drafts


def _constrain(drafts: list[Draft], texts: list[str], frozen: list[bool], K: int, notes: list[list[str]],
               V: int, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What each row may write next under its poem's constraints: allowed (R, V) and forced (R,) (-1: not
    forced). Frozen rows are forced to <eos>, which is fed and then discarded. A dead end that loosened a
    constraint is noted on the row."""
    allowed = torch.zeros(len(texts), V, dtype=torch.bool)  # (R, V)
    forced = torch.full((len(texts),), eos_id, dtype=torch.long)  # (R,)
    for r, text in enumerate(texts):
        if frozen[r]:
            continue
        pos = Position.after(text)
        decision = decide(drafts[r // K].constraints, pos)
        if isinstance(decision, Force):
            forced[r] = decision.token
            continue
        allowed[r], forced[r] = decision.mask, -1
        if decision.loosened:  # a dead end: said, not hidden
            notes[r].append(f"line {pos.line + 1}, character {pos.in_line + 1}: no character "
                            f"fitted the {decision.loosened}, which was dropped there")
    return allowed, forced


def _choose(draft: Draft, rows: range, lines: list[str], logps: list[list[float]], used_lines: set[str],
            n_lines: int, weights: Weights) -> int:
    """The row whose line the poem keeps. <eos> in the first row ends the poem (free form)."""
    first = rows[0]
    if len(rows) == 1 or lines[first] == "\n":
        return first
    candidates = [r for r in rows if lines[r] != "\n"]
    fresh = [r for r in candidates if lines[r].rstrip(PUNCTUATION) not in used_lines] or candidates
    fresh = [r for r in fresh if lines[r].endswith(tuple(PUNCTUATION))] or fresh  # not one max_len cut short
    before = split_lines(draft.text)
    return max(fresh, key=lambda r: line_score(draft.text, lines[r], logps[r], before, n_lines,
                                                 pair_table(), weights))


def _keep(draft: Draft, line: str, logps: list[float], notes: list[str], max_len: int, used_lines: set) -> None:
    text = line.rstrip("\n")
    draft.text += text
    draft.probabilities += [math.exp(lp) for lp in logps[: len(text)]]
    draft.loosened += notes
    draft.ended = line.endswith("\n") or len(draft.text) >= max_len
    if draft.ended and not line.endswith("\n"):  # max_len ended it: back to its last sentence end, as the
        end = max(draft.text.rfind(c) for c in LINE_END) + 1  # corpus's long poems are cut (a poem that has
        if end:  # none keeps what it wrote: a poem must say something)
            draft.text, draft.probabilities = draft.text[:end], draft.probabilities[:end]
    if text.rstrip(PUNCTUATION):
        used_lines.add(text.rstrip(PUNCTUATION))


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

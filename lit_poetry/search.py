"""Writing poems by search, a line at a time: each poem of a request has `candidates` rows in one batch;
all of them write the next line from the same state, under the poem's constraints (constraints.py) and
leaning towards its conventions (scoring.Steering); when every row has ended its line, the best line by
`scoring.line_score` is kept, its state copied to the poem's other rows, and the next line begins.
A line that any poem of the request already has is never chosen again (no line twice, across poems too).
Before each rhyme in a group already set, the characters sampling would draw from are weighed by how likely
the model finds a rhyme right after each (`_look_ahead`), so that a line leads into its rhyme.
A poem written to a title is guided towards it (classifier-free guidance: each row is also read without its
title, which a model trained with some poems untitled can do, the shipped one with a fifth, and what the
title adds is amplified by `guidance`), so that it keeps to its subject instead of the model's stock lines.
With `candidates=1` it is plain sampling: one row a poem, no steering, no looking ahead, no choosing
(a title is still guided; guidance=1 turns that off).

In free form a poem ends where its first row writes <eos> (the decision to stop is sampled, not chosen:
the likeliest candidate would often be to stop at once), or at `max_len`, cut back to its last sentence end
(。？！；).
"""

import math
from dataclasses import dataclass, field

import torch

from lit_poetry.constraints import MAX_FREE_LINE, Allow, Constraint, FixedForm, Force, Metre, Position, decide
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.models.base import LanguageModel
from lit_poetry.models.gemm import keeping_prepared
from lit_poetry.parallelism import pair_table
from lit_poetry.scoring import Steering, Weights, line_score
from lit_poetry.text import LINE_END, PUNCTUATION, split_lines

NUCLEUS_WIDTH = 256  # characters a nucleus is first looked for among; a wider one is sorted whole (_sample_masked)


@dataclass(frozen=True)
class Search:
    """How poems are drawn: the sampling distribution, and how many candidate lines compete per line."""

    candidates: int = 6  # rows per poem; 1 = plain sampling
    temperature: float = 0.7  # <= 0: greedy (then one row a poem)
    top_k: int = 0
    top_p: float = 0.9
    rhyme_lookahead: int = 12  # before a rhyme: its likeliest characters weighed by the rhymes after them; 0: off
    guidance: float = 2.0  # a title's pull g: log p(x|title) + (g-1)(log p(x|title) - log p(x)); 1: the model's
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
@keeping_prepared()  # a step a call: each weight is laid out for the matmuls once, not every step
def write(model: LanguageModel, vocab: Vocabulary, constraints: list[list[Constraint]], heads: list[str],
          max_len: int, search: Search, seed: int | None, untitled: str | None = None) -> list[Draft]:
    """One Draft per constraints list, each under its constraints, written by `search` after `<bos>` and
    its head in `heads` (a title and a mood prefix, read and not written). A poem of a fixed form has that
    form's shape and length (its FixedForm constraint), free verse at most `max_len` characters.
    With `untitled`, the heads without their titles, a titled poem is guided (`search.guidance`): each
    character's log-probability moves away from what the model would write without the title."""
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
    guided = search.guidance != 1.0 and untitled is not None and any(h != untitled for h in heads)
    # guided: rows R..2R-1 are rows 0..R-1 read without their titles (what a title adds is what guidance
    # amplifies), written alongside in the same batch
    B = 2 * R if guided else R
    row_heads = [heads[r // K] for r in range(R)]
    logits, state = _read_heads(model, vocab, row_heads + [untitled] * (B - R), device)
    lines = [""] * R  # each row's line in progress (with its closing mark, or "\n" for <eos>)
    logps: list[list[float]] = [[] for _ in range(R)]  # each character's, guided: what the search scores
    owns: list[list[float]] = [[] for _ in range(R)]  # the model's own (the poem's probabilities)
    notes: list[list[str]] = [[] for _ in range(R)]
    paused = [False] * R  # the row has ended its line (or its poem) and waits for the others
    used_lines: set[str] = set()  # every kept line of the request, without punctuation
    for _ in range((max(lengths) + 1) * (MAX_FREE_LINE + 2)):  # every line of every row ends by MAX_FREE_LINE + 1
        if all(d.ended for d in drafts):
            break
        texts = [drafts[r // K].text + lines[r] for r in range(R)]
        frozen = [paused[r] or drafts[r // K].ended for r in range(R)]
        positions = [Position.after(text) for text in texts]  # where each row's next character goes
        allowed, forced = _constrain(drafts, positions, frozen, K, notes, logits.shape[-1], vocab.eos_id)
        allowed, forced = allowed.to(device), forced.to(device)
        own_logp = torch.log_softmax(logits[:R], -1)  # (R, V): the model's own, with the title
        base = own_logp + (search.guidance - 1.0) * (own_logp - torch.log_softmax(logits[R:], -1)) if guided else logits
        scaled = base if search.temperature <= 0 else base / search.temperature
        if steering is not None:
            kept = [split_lines(d.text) for d in drafts]  # each poem's lines so far
            scaled = scaled + steering.shifts(texts, [kept[r // K] for r in range(R)], row_shapes, row_heads)
            if search.rhyme_lookahead:
                scaled = _look_ahead(model, vocab, state, scaled, allowed, forced, drafts, positions, frozen, K,
                                     search)
        choice = (scaled.masked_fill(~allowed, float("-inf")).argmax(-1) if search.temperature <= 0
                  else _sample_masked(scaled, allowed, search.top_k, search.top_p, generator))  # (R,)
        tokens = torch.where(forced >= 0, forced, choice)  # (R,)
        # log p(token), unconstrained, at temperature 1: the model's own (what the poem reports), and guided
        # (what the search scores a line by)
        own = own_logp.gather(1, tokens[:, None]).squeeze(1).tolist()  # (R,)
        logp = torch.log_softmax(base, -1).gather(1, tokens[:, None]).squeeze(1).tolist() if guided else own
        for r, token in enumerate(tokens.tolist()):
            if not frozen[r]:
                lines[r] += "\n" if token == vocab.eos_id else vocab.itos[token]
                logps[r].append(logp[r])
                owns[r].append(own[r])
                paused[r] = token == vocab.eos_id or lines[r][-1] in PUNCTUATION or len(texts[r]) + 1 >= lengths[r // K]
        new_logits, new_state = model(tokens.repeat(B // R)[:, None], state)  # (B, 1, V)
        still = torch.tensor(frozen * (B // R), device=device)  # (B,): rows that wait keep their logits and state
        logits = torch.where(still[:, None], logits, new_logits[:, -1].float())
        state = model.keep_rows(still, state, new_state)
        source = list(range(R))  # the row each row continues from: the kept line's, where a poem chose
        for p, draft in enumerate(drafts):
            rows = range(p * K, p * K + K)
            if not draft.ended and all(paused[r] for r in rows):  # every row has its line: keep the best
                shape = shapes[p]
                best = _choose(draft, rows, lines, logps, used_lines, shape[1] if shape else 0, search.weights,
                               heads[p])
                _keep(draft, lines[best], owns[best], notes[best], lengths[p], used_lines)
                for r in rows:
                    source[r] = best
                    lines[r], logps[r], owns[r], notes[r], paused[r] = "", [], [], [], False
        if source != list(range(R)):
            source += [R + r for r in source] if guided else []
            logits, state = logits[source], model.take_rows(state, torch.tensor(source, device=device))
    model.train(was_training)
    return drafts


def _read_heads(model: LanguageModel, vocab: Vocabulary, heads: list[str], device) -> tuple[torch.Tensor, object]:
    """The model after `<bos>` and each row's head -> logits (R, V) and the state. Heads of different
    lengths are read a character a step, a row that has read its own keeping its state (keep_rows)."""
    leads = [[vocab.bos_id] + vocab.encode(head) for head in heads]
    if all(lead == leads[0] for lead in leads):
        logits, state = model(torch.tensor(leads, device=device))  # (R, P, V)
        return logits[:, -1].float(), state
    P = max(map(len, leads))
    ids = torch.tensor([lead + [vocab.bos_id] * (P - len(lead)) for lead in leads], device=device)  # (R, P)
    lengths = torch.tensor([len(lead) for lead in leads], device=device)  # (R,)
    logits, state = model(ids[:, :1])  # (R, 1, V)
    logits = logits[:, -1].float()
    for t in range(1, P):
        done = lengths <= t  # (R,): these rows have read their head
        new_logits, new_state = model(ids[:, t : t + 1], state)
        logits = torch.where(done[:, None], logits, new_logits[:, -1].float())
        state = model.keep_rows(done, state, new_state)
    return logits, state


def _look_ahead(model: LanguageModel, vocab: Vocabulary, state, scaled: torch.Tensor, allowed: torch.Tensor,
                forced: torch.Tensor, drafts: list[Draft], positions: list[Position], frozen: list[bool], K: int,
                search: Search) -> torch.Tensor:
    """`scaled` (R, V), where a row's next character comes just before a rhyme in a group already set: there
    only the characters sampling would consider (its top-k and nucleus, at most `search.rhyme_lookahead`)
    stay, each raised by log P(a character the rhyme allows follows it) / temperature, one model step for
    all of them; sampling then draws among them as anywhere else. A rhyme then follows from the line
    instead of being forced onto it at its last character."""
    rows = _before_rhyme(drafts, positions, frozen, forced, K)
    if not rows:
        return scaled
    index = torch.tensor(rows, device=scaled.device)  # (n,)
    masked = scaled[index].masked_fill(~allowed[index], float("-inf"))  # (n, V)
    V = masked.shape[-1]
    values, ids = masked.topk(min(search.rhyme_lookahead, search.top_k or V, V), dim=-1)  # (n, M), likeliest first
    total = masked.topk(search.top_k).values if 0 < search.top_k < V else masked  # the mass the nucleus is of
    shares = torch.exp(values - total.logsumexp(-1, keepdim=True))  # (n, M)
    looked = _in_nucleus(shares, search.top_p) & (shares > 0)  # (n, M): the nucleus (the first always)
    rhymes = torch.stack([_rhyme_mask(drafts[r // K].constraints, positions[r].text + vocab.itos[best], allowed[0])
                          for r, best in zip(rows, ids[:, 0].tolist())])  # (n, V)
    row_of, slot = looked.nonzero(as_tuple=True)  # (N,) each: a looked-at candidate's row in 0..n-1, its slot
    after, _ = model(ids[row_of, slot][:, None], model.take_rows(state, index[row_of]))  # (N, 1, V)
    logp = torch.log_softmax(after[:, -1].float(), -1)  # (N, V)
    rhyme_logp = logp.masked_fill(~rhymes[row_of], float("-inf")).logsumexp(-1)  # (N,)
    weighed = torch.full_like(values, float("-inf"))  # (n, M): the others are dropped here
    weighed[row_of, slot] = values[row_of, slot] + rhyme_logp.clamp_min(-30.0) / search.temperature
    out = scaled.clone()
    out[index] = torch.full_like(masked, float("-inf")).scatter(1, ids, weighed)
    return out


def _before_rhyme(drafts: list[Draft], positions: list[Position], frozen: list[bool], forced: torch.Tensor,
                  K: int) -> list[int]:
    """The rows whose next character is the one before a rhyme in a group already set (Metre.rhymes_next)."""
    free = (forced < 0).tolist()
    return [r for r, pos in enumerate(positions) if free[r] and not frozen[r] and any(
        isinstance(c, Metre) and c.rhymes_next(pos) for c in drafts[r // K].constraints)]


def _rhyme_mask(constraints: list[Constraint], text: str, like: torch.Tensor) -> torch.Tensor:
    """(V,) what the constraints allow after `text`, which ends one character before the rhyme (with the
    row's likeliest character there, for all the row's candidates: the rhyme's group and tone do not depend
    on which, but where the candidate makes a word that decides them, a 多音字's tone or the group of 行 in
    中行 or 数行; one mask a row instead of one a candidate keeps the lookahead cheap, and the rhyme itself is
    always held to its word)."""
    decision = decide(constraints, Position.after(text))
    return decision.mask if isinstance(decision, Allow) and decision.mask is not None else torch.ones_like(like)


def _constrain(drafts: list[Draft], positions: list[Position], frozen: list[bool], K: int, notes: list[list[str]],
               V: int, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What each row may write next under its poem's constraints: allowed (R, V) and forced (R,) (-1: not
    forced). Frozen rows are forced to <eos>, which is fed and then discarded. A dead end that loosened a
    constraint is noted on the row."""
    allowed = torch.zeros(len(positions), V, dtype=torch.bool)  # (R, V)
    forced = torch.full((len(positions),), eos_id, dtype=torch.long)  # (R,)
    decided: dict[tuple[int, str], Force | Allow] = {}  # rows of a poem that wrote the same text decide alike
    for r, pos in enumerate(positions):
        if frozen[r]:
            continue
        if (r // K, pos.text) not in decided:
            decided[r // K, pos.text] = decide(drafts[r // K].constraints, pos)
        decision = decided[r // K, pos.text]
        if isinstance(decision, Force):
            forced[r] = decision.token
            continue
        allowed[r], forced[r] = decision.mask, -1
        if decision.loosened:  # a dead end: said, not hidden
            notes[r].append(f"line {pos.line + 1}, character {pos.in_line + 1}: no character "
                            f"fitted the {decision.loosened}, which was dropped there")
    return allowed, forced


def _choose(draft: Draft, rows: range, lines: list[str], logps: list[list[float]], used_lines: set[str],
            n_lines: int, weights: Weights, head: str = "") -> int:
    """The row whose line the poem keeps. <eos> in the first row ends the poem (free form)."""
    first = rows[0]
    if len(rows) == 1 or lines[first] == "\n":
        return first
    candidates = [r for r in rows if lines[r] != "\n"]
    fresh = [r for r in candidates if lines[r].rstrip(PUNCTUATION) not in used_lines] or candidates
    fresh = [r for r in fresh if lines[r].endswith(tuple(PUNCTUATION))] or fresh  # not one max_len cut short
    before = split_lines(draft.text)
    return max(fresh, key=lambda r: line_score(draft.text, lines[r], logps[r], before, n_lines,
                                                 pair_table(), weights, head))


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
    """One token per row from softmax(logits) restricted to `allowed`, top-k (ties at the k-th broken by
    position), then nucleus top-p."""
    logits = logits.masked_fill(~allowed, float("-inf"))  # (R, V)
    V = logits.shape[-1]
    if top_k <= 0 and top_p >= 1.0:
        return _draw(torch.softmax(logits, -1), generator)
    # the nucleus is looked for among the likeliest NUCLEUS_WIDTH (or top_k) characters, not by sorting all V;
    # exact, for the rows whose nucleus is wider are sorted whole
    width = min(top_k if top_k > 0 else NUCLEUS_WIDTH, V)
    values, ids = logits.topk(width, dim=-1)  # (R, W), likeliest first
    lse = logits.logsumexp(-1, keepdim=True)  # (R, 1)
    tokens = _nucleus_draw(values, ids, lse, top_k, top_p, generator)  # (R,)
    if top_k <= 0 and width < V:
        wide = _in_nucleus(torch.exp(values - lse), top_p)[:, -1]  # (R,): it kept the last one, and may go on
        if bool(wide.any()):
            values, ids = logits[wide].sort(dim=-1, descending=True)  # (w, V)
            tokens[wide] = _nucleus_draw(values, ids, lse[wide], top_k, top_p, generator)
    return tokens


def _nucleus_draw(values: torch.Tensor, ids: torch.Tensor, lse: torch.Tensor, top_k: int, top_p: float,
                  generator: torch.Generator) -> torch.Tensor:
    """A token per row among `ids` (R, W), sorted by logit `values` (R, W), of a distribution with log-
    normaliser `lse` (R, 1): the smallest prefix that reaches `top_p` (of the top k's own mass, with top_k)."""
    probs = torch.exp(values - lse).nan_to_num(0.0)  # (R, W); rows with nothing allowed are forced by the caller
    if top_p < 1.0:
        shares = probs / probs.sum(-1, keepdim=True).clamp_min(1e-30) if top_k > 0 else probs
        probs = probs.masked_fill(~_in_nucleus(shares, top_p), 0.0)
    return ids.gather(1, _draw(probs, generator)[:, None]).squeeze(1)  # (R,)


def _in_nucleus(shares: torch.Tensor, top_p: float) -> torch.Tensor:
    """(R, W) bool: which of the shares (R, W), sorted likeliest first, the nucleus keeps: the smallest
    prefix that reaches `top_p`."""
    return shares.cumsum(-1) - shares < top_p


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """An index per row of `probs` (R, N), unnormalised; a row of zeros (forced by the caller) gives 0."""
    probs = torch.nan_to_num(probs, nan=0.0)
    probs[probs.sum(-1) == 0, 0] = 1.0
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (R,)

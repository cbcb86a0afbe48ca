"""Writing poems, top-down: a `Request` (what the reader asks for) is checked and normalised, becomes one
list of constraints per poem (constraints.py), and the search (search.py) writes the poems under them.

    poems = sample(model, vocab, ["日", "月"], num_samples=2, form="wujue", seed=0)
    poems = write_poems(model, vocab, Request(("日",), form="qilv", metre="strict", rhyme=True, seed=0))
"""

import hashlib
import random
import re
from dataclasses import asdict, dataclass, replace

from lit_poetry.constraints import (
    MAX_FREE_LINE,
    Metre,
    MetreClasses,
    TokenClasses,
    check_metre,
    poem_constraints,
)
from lit_poetry.data.cleaning import TITLE_MAX_LEN, clean_line
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.search import Search, write
from lit_poetry.text import (
    FORM_NAMES,
    FORMS,
    LINE_END,
    PUNCTUATION,
    is_han,
    nearest_form,
    split_lines,
    title_header,
    to_simplified,
    to_traditional,
    verse_to_traditional,
)
from lit_poetry.titles import drawn_title, readable_titles
from lit_poetry.variants import standard_form

REPORT_STARTS = "日红山夜湖海月"
AUTO = "auto"  # metre=auto: strict tones and rhyme in the fixed forms, off in free verse; form=auto: drafted_rows
FREE = "free"
SCRIPTS = ("simplified", "traditional")


def normalise_inputs(starts: list[str], acrostic: str, prefix: str, title: str = ""
                     ) -> tuple[list[str], str, str, str, str]:
    """Take input as people type it: traditional characters become simplified (OpenCC t2s, as the corpus
    was converted), variants their standard form, spaces go, a prefix takes the corpus's punctuation
    (`秋风,萧瑟` -> `秋风，萧瑟`) and a title loses its marks (《秋夜》 -> 秋夜). Returns the inputs and a
    one-line note of what changed ("" when nothing did)."""
    def standard(text: str) -> str:
        return standard_form(to_simplified(text))

    new_starts = [standard(s.replace(" ", "")) for s in starts]
    new_acrostic = standard(acrostic.replace(" ", ""))
    new_prefix = to_simplified(clean_line(prefix))  # clean_line maps variants itself
    new_title = standard(re.sub(r"[\s《》<>〈〉「」『』\"'“”]", "", title))
    changes = [f"{what} {old} -> {new}" for what, old, new in [
        *(("start", a, b) for a, b in zip(starts, new_starts)), ("acrostic", acrostic, new_acrostic),
        ("prefix", prefix, new_prefix), ("title", title, new_title)] if old != new]
    note = "note: input written as the corpus is (simplified, full-width punctuation): " + "; ".join(changes)
    return new_starts, new_acrostic, new_prefix, new_title, note if changes else ""


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


@dataclass(frozen=True)
class Request:
    """What a reader asks for: start words (one poem each, `num_samples` times), an acrostic, a form,
    a mood prefix, the metre, a title (the poem's theme: `auto`, one drawn for each poem by
    titles.drawn_title, where the model reads titles; "": none), and the seed that makes it reproducible."""

    starts: tuple[str, ...] = ("",)
    num_samples: int = 1
    acrostic: str = ""
    form: str = FREE  # or auto (drafted_rows), or one of text.FORMS
    prefix: str = ""
    metre: str = "off"
    rhyme: bool = False
    rhyme_group: str | None = None
    max_len: int = 64  # characters, for free verse
    seed: int | None = None
    title: str = AUTO

    def stream_seed(self) -> int | None:
        """The random stream of this request: the seed mixed with everything that shapes the poem, so a
        seed reproduces a request, and two requests under one seed share no stream (and so no lines). No
        seed, or a negative one (the page's -1), is a new stream each time."""
        if self.seed is None or self.seed < 0:
            return None
        fields = (self.seed, self.starts, self.acrostic, self.form, self.prefix, self.metre, self.rhyme,
                  self.rhyme_group) + ((self.title,) if self.title else ())  # untitled: the streams as before
        return int.from_bytes(hashlib.sha256(repr(fields).encode()).digest()[:7], "big")

    @property
    def length(self) -> int:
        """The most characters a poem of this request may have."""
        if self.form in FORMS:
            return (FORMS[self.form][0] + 1) * FORMS[self.form][1]
        if self.acrostic:  # room for every head's line
            return max(self.max_len, len(self.acrostic) * (MAX_FREE_LINE + 1))
        return self.max_len


@dataclass
class Poem:
    """One written poem. probabilities: each character's under the model (temperature 1, no constraint);
    pattern: the 近体诗 pattern it was held to (else None); loosened: where a dead end made the writing
    drop the rhyme or the tone (or, under form=auto, the form); notes: what the input conversion changed.
    `in_script` fills the traditional fields."""

    start: str
    poem: str
    lines: list[str]
    probabilities: list[float]
    pattern: str | None
    loosened: list[str]
    notes: list[str]
    poem_traditional: str | None = None
    lines_traditional: list[str] | None = None
    title: str = ""  # the theme it was written to, as the model read it (simplified, no marks; drawn under auto)
    title_traditional: str | None = None
    form: str = FREE  # the form it was written in (form=auto: the one the model drafted)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()
                if (v is not None or not k.endswith("traditional")) and (v or k != "title")}


def guidance_for(data: dict | None, guidance: float = Search.guidance) -> float:
    """`guidance` for a model whose training data (its `data` settings) showed some poems without their
    title (data.untitled_fraction > 0: the shipped model's is 0.2), else 1: a model that never read a poem
    untitled cannot say what a title adds."""
    return guidance if (data or {}).get("untitled_fraction", 0) > 0 else 1.0


def resolved_metre(metre: str, rhyme: bool, form: str) -> tuple[str, bool]:
    """metre=auto as what it means for `form`: the fixed forms as Tang poets wrote them (strict tones and
    the rhyme), free verse free; any other setting as it is."""
    if metre != AUTO:
        return metre, rhyme
    return ("strict", True) if form in FORMS else ("off", rhyme)


def checked_request(vocab: Vocabulary, request: Request) -> tuple[Request, list[str]]:
    """The request as the model reads it (normalise_inputs), its characters checked against the
    vocabulary, and the notes for the reader."""
    if request.form != AUTO:  # form=auto: resolved for each poem once its form is drafted
        metre, rhyme = resolved_metre(request.metre, request.rhyme, request.form)
        request = replace(request, metre=metre, rhyme=rhyme)
    asked = "" if request.title == AUTO else request.title
    starts, acrostic, prefix, title, note = normalise_inputs(list(request.starts) or [""], request.acrostic,
                                                             request.prefix, asked)
    if request.title == AUTO:
        title = AUTO if vocab.title_ids is not None else ""  # a model without titles writes without one
    elif title and vocab.title_ids is None:
        raise LitPoetryError("this model was trained without titles, so title= cannot set its theme; use a "
                             "model trained with data.titles=true (the shipped one is), or start words and prefix=")
    if len(title) > TITLE_MAX_LEN:
        raise LitPoetryError(f"title={title} has {len(title)} characters; give at most {TITLE_MAX_LEN}, as titles "
                             "were in training")
    if title != AUTO:
        check_in_vocab(title, vocab, "title")
    for s in starts:
        check_in_vocab(s, vocab, "start")
    check_in_vocab(acrostic, vocab, "acrostic")
    check_in_vocab(prefix.rstrip(PUNCTUATION), vocab, "prefix")
    if acrostic and any(s and s[0] != acrostic[0] for s in starts):
        raise LitPoetryError(f"start words {starts} must begin with the acrostic's first character '{acrostic[0]}'")
    return (replace(request, starts=tuple(starts), acrostic=acrostic, prefix=prefix, title=title),
            [note] if note else [])


def head_of(request: Request, title: str = "") -> str:
    """What the model reads before a poem: its title as training showed it (《秋夜》), then the prefix,
    closed as a sentence."""
    prefix = request.prefix + ("。" if request.prefix and request.prefix[-1] not in LINE_END else "")
    return (title_header(title) if title else "") + prefix


def poem_titles(vocab: Vocabulary, request: Request) -> list[str]:
    """Each poem's title, in the order of request_constraints: the one asked for, or under auto one drawn
    for each poem, by a generator of its own seeded from the request's stream (the titles' draws take
    nothing from the stream the metre's patterns are drawn from)."""
    poems = [s for s in request.starts for _ in range(request.num_samples)]
    if request.title != AUTO:
        return [request.title] * len(poems)
    seed, titles = request.stream_seed(), readable_titles(vocab)
    rng = random.Random(None if seed is None else f"titles {seed}")
    return [drawn_title(start or request.acrostic, titles, rng) for start in poems]


def request_constraints(classes: TokenClasses, request: Request) -> list[tuple[str, list]]:
    """One (start, constraints) row per poem; under the metre each poem its own pattern, drawn from the
    request's stream."""
    r = request
    if r.metre != "off" or r.rhyme or r.rhyme_group:
        masks, rng = MetreClasses.of(classes), random.Random(r.stream_seed())
        return [(s, poem_constraints(classes, s, r.acrostic, r.form, r.metre, r.rhyme, r.rhyme_group, masks, rng))
                for s in r.starts for _ in range(r.num_samples)]
    per_start = {s: poem_constraints(classes, s, r.acrostic, r.form) for s in dict.fromkeys(r.starts)}  # checked
    return [(s, per_start[s]) for s in r.starts for _ in range(r.num_samples)]


def write_poems(model, vocab: Vocabulary, request: Request, search: Search | None = None) -> list[Poem]:
    """request -> checked request -> constraints (form=auto: in the form of each poem's draft) -> search ->
    poems, `num_samples` for each start word, all in one batch."""
    request, notes = checked_request(vocab, request)
    search = search or Search()
    classes = TokenClasses(vocab, next(model.parameters()).device)
    titles = poem_titles(vocab, request)
    heads = [head_of(request, title) for title in titles]
    rows = (drafted_rows(model, vocab, classes, request, search, heads) if request.form == AUTO else
            [(request.form, start, constraints, []) for start, constraints in request_constraints(classes, request)])
    drafts = write(model, vocab, [c for _, _, c, _ in rows], heads, replace(request, form=FREE).length, search,
                   request.stream_seed(), untitled=head_of(request))
    return [Poem(start, d.text, split_lines(d.text), d.probabilities,
                 next((c.pattern.name for c in constraints if isinstance(c, Metre)), None), said + d.loosened,
                 list(notes), title=title, form=form)
            for (form, start, constraints, said), d, title in zip(rows, drafts, titles)]


def drafted_rows(model, vocab: Vocabulary, classes: TokenClasses, request: Request, search: Search,
                 heads: list[str]) -> list[tuple[str, str, list, list[str]]]:
    """form=auto: each poem's (form, start, constraints, what it gave up), in the regular form nearest the
    shape (text.nearest_form) of its free draft: the poem that `form=free metre=off candidates=1
    temperature=1 top_p=1` (top_k=0 and max_len=64, the defaults; with temperature=0: greedy) writes
    under the same seed, after the poem's head (`heads`: its title, unguided, and the prefix; untitled,
    title="", it is that request's poem exactly, which the tests check). Tones and
    rhyme follow `metre` and `rhyme` for that form; where no pattern of it fits the start words or the
    acrostic, the poem is free verse and says so."""
    check_metre(request.metre, request.rhyme_group, classes)  # before any work: a typo is refused, not drafted
    free = replace(request, form=FREE, metre="off", rhyme=False, rhyme_group=None, max_len=64)  # a whole 七律
    free_rows = request_constraints(classes, free)
    plain = Search(candidates=1, temperature=1.0 if search.temperature > 0 else 0.0, top_p=1.0)
    drafts = write(model, vocab, [c for _, c in free_rows], heads, free.length, plain, free.stream_seed())
    rng, rows = random.Random(request.stream_seed()), []  # each poem's pattern, drawn as request_constraints does
    for (start, free_constraints), draft in zip(free_rows, drafts):
        form = nearest_form(draft.text, start, request.acrostic)
        metre, rhyme = resolved_metre(request.metre, request.rhyme, form or FREE)
        if form:
            try:
                rows.append((form, start, poem_constraints(classes, start, request.acrostic, form, metre, rhyme,
                                                           request.rhyme_group, rng=rng), []))
                continue
            except LitPoetryError:  # the settings are sound (above): no pattern fits the start words or acrostic
                pass
        given = " and ".join(what for what, text in (("start words", start), ("acrostic", request.acrostic))
                             if text) or "request"
        fits = f"no {FORM_NAMES[form]} under metre={metre}" if form else "no regular form"
        rows.append((FREE, start, free_constraints, [f"its {given} fit {fits}, so it is free verse, without tones "
                                                     "or rhyme"]))
    return rows


def sample(model, vocab: Vocabulary, starts: list[str] | None = None, num_samples: int = 1, *,
           acrostic: str = "", form: str = FREE, prefix: str = "", temperature: float = Search.temperature,
           top_k: int = 0, top_p: float = Search.top_p, max_len: int = 64, seed: int | None = None,
           metre: str = "off", rhyme: bool = False, rhyme_group: str | None = None,
           candidates: int = Search.candidates, title: str = AUTO, guidance: float = Search.guidance) -> list[Poem]:
    """`write_poems` with the request and the search given as keywords (the commands, the page, the
    training callback and the tests call this).

    temperature <= 0 is greedy decoding. `prefix` is read before the poem (mood) and not printed.
    `form`: free, auto (each poem in the regular form nearest the model's own draft: drafted_rows) or one of
    text.FORMS. `metre` (off | auto | relaxed | strict | every) and `rhyme` hold a fixed form to one 近体诗
    pattern per poem, chosen at random among those its start words and acrostic fit; auto is strict with
    the rhyme in the fixed forms and off in free verse. `candidates`: lines drawn per line
    (search.py); 1 is plain sampling. `title`: the theme, read before the poem as training showed it; auto
    draws one for each poem (titles.py), "" writes without; `guidance`: how strongly a title pulls (1: as
    the model reads it; `guidance_for(trained.data)` gives a checkpoint's own)."""
    request = Request(tuple(starts) if starts else ("",), num_samples, acrostic, form, prefix, metre, rhyme,
                      rhyme_group, max_len, seed, title)
    return write_poems(model, vocab, request, Search(candidates, temperature, top_k, top_p, guidance=guidance))


def notes_of(poems: list[Poem]) -> list[str]:
    """What a reader should be told about a request's poems: the input notes (shared by all), then each
    poem's loosened positions."""
    notes = list(poems[0].notes) if poems else []
    return notes + [f"note: {p.start or 'poem'}: {where}" for p in poems for where in p.loosened]


def in_script(poems: list[Poem], script: str) -> list[Poem]:
    """`script="traditional"` adds `poem_traditional`, `lines_traditional` and, for a titled poem,
    `title_traditional` (OpenCC s2t) to each poem."""
    if script not in SCRIPTS:
        raise LitPoetryError(f"script='{script}' is not one of {', '.join(SCRIPTS)}")
    if script == "simplified":
        return poems
    converted = [verse_to_traditional(p.poem) for p in poems]
    return [replace(p, poem_traditional=t, lines_traditional=split_lines(t),
                    title_traditional=to_traditional(p.title) if p.title else None) for p, t in zip(poems, converted)]


def lines_in(poem: Poem, script: str) -> list[str]:
    """A poem's lines in the script it was asked for (after `in_script`)."""
    return poem.lines_traditional if script == "traditional" and poem.lines_traditional else poem.lines


def title_in(poem: Poem, script: str) -> str:
    """A poem's title in the script it was asked for ("" for none)."""
    return poem.title_traditional if script == "traditional" and poem.title_traditional else poem.title

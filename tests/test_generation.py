import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from lit_poetry.checkpoint import load_poetry_lm
from lit_poetry.constraints import Allow, Constraint, Position, TokenClasses
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.generation import REPORT_STARTS, Request, notes_of, request_constraints, sample
from lit_poetry.models.lstm_lm import LSTMLM
from lit_poetry.search import Search, write
from lit_poetry.text import FORMS, LINE_END, PUNCTUATION, is_han, is_regular, split_lines

from .helpers import ROOT


@pytest.fixture(scope="module")
def lm(tiny_checkpoint):
    return load_poetry_lm(tiny_checkpoint)


@pytest.mark.parametrize("form", FORMS)
def test_every_form_has_the_exact_shape(lm, form):
    model, vocab = lm
    chars, n_lines = FORMS[form]
    for seed in range(5):
        for poem in sample(model, vocab, list(REPORT_STARTS), 2, form=form, temperature=1.2, seed=seed):
            lines = poem.lines
            assert len(lines) == n_lines, poem
            for k, line in enumerate(lines):
                assert len(line) == chars + 1 and all(is_han(c) for c in line[:-1])
                assert line[-1] == ("，" if k % 2 == 0 else "。")
            assert poem.poem.startswith(poem.start)


@pytest.mark.parametrize("form", ["free", "wujue", "qilv"])
def test_acrostic_heads_every_line(lm, form):
    model, vocab = lm
    heads = "春夏秋冬"
    for poem in sample(model, vocab, None, 6, acrostic=heads, form=form, temperature=1.0, seed=3):
        lines = poem.lines
        assert "".join(line[0] for line in lines[: len(heads)]) == heads, poem
        assert all(line[-1] in PUNCTUATION for line in lines)


def test_acrostic_switches_heads_after_any_punctuation(lm):
    """Free form: a line ended by ， (not only 。) still hands over to the next head."""
    model, vocab = lm
    poems = sample(model, vocab, None, 20, acrostic="山水", temperature=1.0, seed=0)
    assert any(p.lines[0].endswith("，") for p in poems)
    assert all([line[0] for line in p.lines] == ["山", "水"] for p in poems)


def test_start_words_and_acrostic_together(lm):
    model, vocab = lm
    (poem,) = sample(model, vocab, ["春风"], 1, acrostic="春江", form="wujue", seed=1)
    assert poem.poem.startswith("春风") and poem.lines[1][0] == "江"


def test_same_seed_same_poems_different_seed_differs(lm):
    model, vocab = lm
    a = sample(model, vocab, ["日", "月"], 3, seed=11)
    assert a == sample(model, vocab, ["日", "月"], 3, seed=11)
    assert a != sample(model, vocab, ["日", "月"], 3, seed=12)
    # #41: -1 is "random" on the page; on the command line it was one fixed poem
    assert sample(model, vocab, ["日"], 1, seed=-1, max_len=30) != sample(model, vocab, ["日"], 1, seed=-1, max_len=30)


def test_temperature_to_zero_is_greedy(lm):
    model, vocab = lm
    greedy = sample(model, vocab, list("日红山"), 1, temperature=0, max_len=30)
    assert sample(model, vocab, list("日红山"), 1, temperature=1e-4, max_len=30, seed=5, candidates=1) == greedy
    # greedy by hand: after <bos> 日, the argmax over characters and punctuation (no special tokens)
    logits, _ = model(torch.tensor([[vocab.bos_id, vocab.stoi["日"]]]))
    special = torch.tensor([not (is_han(c) or c in PUNCTUATION) for c in vocab.itos])
    first = vocab.itos[int(logits[0, -1].masked_fill(special, float("-inf")).argmax())]
    assert greedy[0].poem[1] == first


def test_never_writes_special_tokens(lm):
    model, vocab = lm
    for poem in sample(model, vocab, None, 16, temperature=2.0, seed=0, max_len=40):
        assert all(is_han(c) or c in PUNCTUATION for c in poem.poem)
        assert poem.poem[0] not in PUNCTUATION
        assert len(poem.poem) <= 40  # max_len bounds the characters written


@pytest.mark.parametrize("candidates", [1, 8])
def test_a_free_poem_that_reaches_max_len_ends_on_a_sentence(lm, candidates):
    model, vocab = lm
    poems = sample(model, vocab, list("日月山"), 3, temperature=1.0, seed=0, max_len=20, candidates=candidates)
    for poem in poems:
        ends = [k for k, c in enumerate(poem.poem) if c in LINE_END]
        assert len(poem.poem) <= 20 and (not ends or ends[-1] == len(poem.poem) - 1), poem.poem
        assert len(poem.probabilities) == len(poem.poem)
    assert any(len(split_lines(p.poem)) > 1 for p in poems)  # some poems had a whole sentence before the cut


def test_prefix_sets_the_state_but_is_not_printed(lm):
    model, vocab = lm
    plain = sample(model, vocab, ["月"], 4, seed=2)
    moody = sample(model, vocab, ["月"], 4, seed=2, prefix="秋风萧瑟")
    assert moody != plain and all(p.poem.startswith("月") for p in moody)


@pytest.mark.parametrize("kwargs, message", [
    (dict(starts=["龘"]), "start character '龘' is not in the model's vocabulary"),
    (dict(starts=["龘"], acrostic="龘"), "start character '龘'"),
    (dict(acrostic="春夏秋冬春", form="wujue"), "has 5 characters but form=wujue has 4 lines"),
    (dict(starts=["白日依山尽一"], form="wujue"), r"does not fit form=wujue \(5 characters a line\) at '一'"),
    (dict(form="sonnet"), "form='sonnet' is not one of"),
])
def test_bad_input_is_refused_clearly(lm, kwargs, message):
    model, vocab = lm
    with pytest.raises(LitPoetryError, match=message):
        sample(model, vocab, **kwargs)


def test_split_lines():
    assert split_lines("白日依山尽，黄河入海流。欲穷") == ["白日依山尽，", "黄河入海流。", "欲穷"]


def generate(*args):
    return subprocess.run([sys.executable, "generate.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True)


def test_generate_script_json_and_text(tiny_checkpoint):
    run = generate(f"ckpt_path={tiny_checkpoint}", "start=[日,红,山]", "num_samples=2", "form=wujue", "seed=0",
                   "output=json")
    assert run.returncode == 0, run.stderr
    poems = json.loads(run.stdout)
    assert [p["start"] for p in poems] == ["日", "日", "红", "红", "山", "山"]
    assert all(len(p["lines"]) == 4 for p in poems)
    text = generate(f"ckpt_path={tiny_checkpoint}", "start=[日,红,山]", "num_samples=2", "form=wujue", "seed=0")
    assert text.stdout.strip().split("\n\n") == ["\n".join(p["lines"]) for p in poems]


@pytest.mark.parametrize("args, message", [
    (["ckpt_path=/nonexistent/best.ckpt"], "checkpoint /nonexistent/best.ckpt not found"),
    (["ckpt_path=setup.py"], "setup.py is not a lit-poetry checkpoint"),
    (["start=龘"], "start character '龘' is not in the model's vocabulary"),
    (["acrostic=春夏秋冬春", "form=wujue"], "acrostic '春夏秋冬春' has 5 characters"),
    (["metre=strcit"], "metre='strcit' is not one of auto, off"),  # form=auto: refused, not a free-verse fallback
    ([], None),
])
def test_generate_script_errors_are_one_line(tiny_checkpoint, args, message):
    if not any(a.startswith("ckpt_path") for a in args):
        args = [f"ckpt_path={tiny_checkpoint}", *args]
    if message is None:  # a checkpoint that is a torch file but not ours
        foreign = tiny_checkpoint.parent / "foreign.ckpt"
        torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
        args, message = [f"ckpt_path={foreign}"], "foreign.ckpt is not a lit-poetry checkpoint"
    run = generate(*args)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and message in run.stderr


def test_generation_starts_without_lightning():
    code = ("import sys, lit_poetry.commands, lit_poetry.generation, lit_poetry.checkpoint; "
            "print(sorted(m for m in ('lightning', 'wandb', 'matplotlib') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_traditional_input_and_half_width_punctuation_are_converted(lm):
    model, vocab = lm
    assert {"风", "花", "雪", "月", "红"} <= set(vocab.itos)
    poems = sample(model, vocab, ["紅"], 2, acrostic="紅花雪月", form="wujue", prefix="秋風, 蕭瑟", seed=4)
    assert all(p.start == "红" and [line[0] for line in p.lines] == list("红花雪月") for p in poems)
    (note,) = notes_of(poems)  # one note for the request, carried by every poem
    assert all(p.notes == [note] for p in poems)
    assert "start 紅 -> 红" in note and "acrostic 紅花雪月 -> 红花雪月" in note
    assert "prefix 秋風, 蕭瑟 -> 秋风，萧瑟" in note
    # the prefix is read exactly as if typed in the corpus convention
    typed = sample(model, vocab, ["红"], 2, acrostic="红花雪月", form="wujue", prefix="秋风，萧瑟", seed=4)
    assert [p.poem for p in typed] == [p.poem for p in poems]
    assert notes_of(typed) == []  # nothing to convert, nothing said


def test_every_poem_has_the_same_keys(lm):
    model, vocab = lm
    free = sample(model, vocab, ["月"], 1, seed=0)
    strict = sample(model, vocab, ["月"], 1, form="wujue", metre="strict", rhyme=True, seed=0)
    keys = {"start", "poem", "lines", "probabilities", "pattern", "loosened", "notes", "form"}
    assert free[0].as_dict().keys() == strict[0].as_dict().keys() == keys
    assert free[0].pattern is None and "五言绝句" in strict[0].pattern
    assert (free[0].form, strict[0].form) == ("free", "wujue")


def test_generate_writes_a_regular_form_by_default(tiny_checkpoint):
    run = generate(f"ckpt_path={tiny_checkpoint}", "start=[日,红,山,夜]", "seed=0", "output=json")
    assert run.returncode == 0, run.stderr
    for poem in json.loads(run.stdout):
        assert poem["form"] in FORMS and is_regular(poem["poem"], poem["form"]), poem["poem"]
        assert poem["pattern"] is not None  # under the form's tones and rhyme (metre=auto)
    free = generate(f"ckpt_path={tiny_checkpoint}", "start=[日,红,山,夜]", "seed=0", "form=free", "output=json")
    assert {poem["form"] for poem in json.loads(free.stdout)} == {"free"}


def test_generate_prints_the_input_note_on_stderr(tiny_checkpoint):
    run = subprocess.run([sys.executable, "generate.py", f"ckpt_path={tiny_checkpoint}", "start=紅", "seed=0"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and "start 紅 -> 红" in run.stderr and run.stdout.startswith("红")


def test_script_traditional_converts_back_to_the_simplified_poem(tiny_checkpoint):
    from lit_poetry.text import to_simplified

    args = [f"ckpt_path={tiny_checkpoint}", "start=[日,红]", "form=wujue", "seed=0", "script=traditional"]
    poems = json.loads(generate(*args, "output=json").stdout)
    assert all(to_simplified(p["poem_traditional"]) == p["poem"] for p in poems)
    assert any(p["poem_traditional"] != p["poem"] for p in poems)  # 红 is 紅 at least
    text = generate(*args)
    assert text.returncode == 0 and text.stdout.strip().split("\n\n") == ["\n".join(p["lines_traditional"])
                                                                       for p in poems]


def test_a_line_ending_in_gan_is_dry_in_traditional_script():
    """OpenCC alone writes 野煙猶在海棠幹: 幹 (gàn) is 仄, and the line ends on the poem's 平 rhyme."""
    from lit_poetry.text import to_traditional, verse_to_traditional

    poem = "野烟犹在海棠干，干戈阑干江干。露干"
    assert to_traditional(poem) == "野煙猶在海棠幹，干戈闌干江干。露幹"
    assert verse_to_traditional(poem) == "野煙猶在海棠乾，干戈闌干江干。露乾"


class NoRepeat(Constraint):
    """A toy constraint from outside the package: no character twice in a poem, unless nothing else fits."""

    looser = ("no repeated character",)

    def __init__(self, classes: TokenClasses):
        self.classes = classes

    def decide(self, pos: Position, level: int = 0) -> Allow | None:
        if level:
            return None
        mask = torch.ones_like(self.classes.han)
        mask[[self.classes.id(c) for c in set(pos.text) if is_han(c)]] = False
        return Allow(mask)


def test_a_new_constraint_plugs_in_through_the_protocol(lm):
    """A constraint written here joins a row's constraints: decoding honours it, and a dead end loosens
    it and says so in its own words (constraints.decide knows nothing of it)."""
    model, vocab = lm
    classes = TokenClasses(vocab)
    request = Request(("春",), 3, form="qijue", metre="relaxed", seed=0)
    rows = [[*constraints, NoRepeat(classes)] for _, constraints in request_constraints(classes, request)]
    drafts = write(model, vocab, rows, [""] * len(rows), 32, Search(temperature=1.0), seed=0)
    for draft in drafts:
        chars = [c for c in draft.text if is_han(c)]
        assert len(chars) == 28 and len(set(chars)) == 28, draft.text
    assert [d.loosened for d in drafts] == [[], [], []]

    few = Vocabulary([*"春风花月", "，", "。"])  # 28 characters from 4: repeats are forced
    tiny = LSTMLM(len(few), embedding_dim=8, hidden_size=8)
    few_classes = TokenClasses(few)
    rows = [[*c, NoRepeat(few_classes)] for _, c in request_constraints(few_classes, replace(request, num_samples=1))]
    (draft,) = write(tiny, few, rows, [""], 32, Search(candidates=1, temperature=1.0), seed=0)
    assert set(draft.text) - set("，。") == set("春风花月")
    assert len(draft.loosened) == 28 - 4 and all("no repeated character" in note for note in draft.loosened)


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_console_without_the_characters_gets_the_poem_not_a_traceback(output):
    """#41: a Chinese Windows console (GBK) lacks 88 characters the shipped model writes (䴔 among them)."""
    run = subprocess.run([sys.executable, "generate.py", "start=䴔", "form=wujue", "seed=0", f"output={output}"],
                         cwd=ROOT, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "gbk"})
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr[-2000:]
    shown = run.stdout.decode("gbk")
    if output == "json":
        (poem,) = json.loads(shown)
        assert poem["start"] == "䴔" and poem["poem"].startswith("䴔")  # escaped, read back as it was
    else:
        title, *lines = shown.split()  # the title drawn for it (《...》), then the poem
        assert title[0] == "《" and len(lines) == 4 and lines[0].startswith("鵁")  # 䴔's traditional form
        assert b"U+4D14" in run.stderr


@pytest.mark.parametrize("command", [
    "from lit_poetry.commands.metre import main; sys.argv = ['metre', '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。']",  # noqa: E501
    "from lit_poetry.commands.generate import main; sys.argv = ['generate.py', 'start=月', 'form=wujue', 'seed=0']",
])
def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(command):
    """#41: `python -m lit_poetry metre ... | head -1` ended in a BrokenPipe traceback. Here the reader has
    closed the pipe before the command writes (as head has, by then), every time; stdout buffered, as in
    a terminal session's pipe (the flush at exit is where it broke)."""
    code = f"import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); {command}; main()"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0 and "Error" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]

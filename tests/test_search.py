"""The search (search.py) and what it scores (scoring.py, parallelism.py), on the shipped model and real poems."""

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_poetry.checkpoint import load_for_use
from lit_poetry.metre import check
from lit_poetry.parallelism import PairTable, couplets, pair_table, parallel_rate
from lit_poetry.scoring import Steering, Weights, hours, line_score, repeats, seasons
from lit_poetry.text import FORM_NAMES, FORMS, is_regular, nearest_form, verse_lines

from .test_generation import generate


@pytest.fixture(scope="module")
def shipped():
    trained = load_for_use(None, "cpu")
    return trained.model, trained.vocab


def sample_with(shipped, *args, **kwargs):
    from lit_poetry.generation import sample

    return sample(*shipped, *args, **kwargs)


def test_repeats_count_extra_uses_but_not_a_doubled_character():
    assert repeats("白日依山尽，黄河入海流。") == 0
    assert repeats("杨柳依依，") == 0  # 叠字
    assert repeats("有有有情，") == 1  # the third is a repeat
    assert repeats("春风春草，春日。") == 2
    table = pair_table()  # 叠字 where real poems use them: 依依 within a line, 悠悠 at its end, never 人人 there
    assert repeats("不知何何，", table) == 1 and repeats("杨柳依依，", table) == 0
    assert repeats("人人知，", table) == 0 and repeats("几人人。", table) == 1 and repeats("水悠悠。", table) == 0
    assert seasons("春草生，秋风起。") == 1 and seasons("清明秋日") == 1 and seasons("春江花月夜") == 0
    assert seasons("春风吹柳色，黄叶送行人。") == 1  # a reader's catch: autumn leaves in a spring wind
    assert hours("夜凉秋月晓，梦觉夕阳归。") == 2 and hours("日暮归来晚") == 0


@given(st.text(alphabet="山水风月花云", min_size=1, max_size=30))
def test_repeats_is_characters_beyond_the_distinct_ones_less_the_doubled(text):
    doubled = sum(1 for k in range(1, len(text)) if text[k] == text[k - 1] and (k < 2 or text[k - 2] != text[k]))
    assert repeats(text) == len(text) - len(set(text)) - doubled


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(sorted(FORMS)), heads=st.sampled_from(["", "春秋", "山水云月"]),
       metre=st.sampled_from(["relaxed", "strict"]), seed=st.integers(0, 2**32))
def test_candidates_obey_every_constraint(shipped, form, heads, metre, seed):
    poems = sample_with(shipped, ["月"] if not heads else None, 2, acrostic=heads, form=form, metre=metre,
                        rhyme=True, seed=seed, candidates=4)
    for poem in poems:
        assert is_regular(poem.poem, form), poem.poem
        assert [line[0] for line in poem.lines[: len(heads)]] == list(heads)
        assert heads or poem.poem.startswith("月")
        if not poem.loosened:  # a dead end is said; otherwise the metre holds as the checker reads it
            verdict = check(poem.poem, level=metre)
            assert verdict.tones_ok and verdict.rhyme_ok, (poem.poem, verdict.violations)


def test_default_search_repeats_fewer_characters_than_plain_sampling(shipped):
    starts = list("日红山夜湖海月")
    searched = sample_with(shipped, starts, 1, form="qilv", metre="auto", seed=0)
    plain = sample_with(shipped, starts, 1, form="qilv", metre="auto", seed=0, candidates=1, temperature=0.8,
                        top_p=1.0)
    mean = lambda poems: sum(repeats(p.poem) for p in poems) / len(poems)  # noqa: E731
    assert mean(searched) <= 1.0 and 3 * mean(searched) < mean(plain), (mean(searched), mean(plain))


def test_requests_that_differ_share_no_line(shipped):
    """The seed is mixed with the request: 山 and 江 under seed 21 once wrote the same poem but its first
    character. Several poems of one request share no line either."""
    for candidates in (8, 1):  # plain sampling too: the stream, not the search, keeps them apart
        shan, jiang = (sample_with(shipped, [s], 1, form="qilv", metre="strict", rhyme=True, seed=21,
                                   candidates=candidates)[0] for s in "山江")
        assert not set(verse_lines(shan.poem)[1:]) & set(verse_lines(jiang.poem)[1:])
        assert verse_lines(shan.poem)[0][1:] != verse_lines(jiang.poem)[0][1:]
    wujue, qilv = (sample_with(shipped, ["山"], 1, form=f, metre="strict", rhyme=True, seed=21)[0]
                   for f in ("wujue", "qilv"))
    assert verse_lines(wujue.poem)[0] != verse_lines(qilv.poem)[0][:5]
    lines = [line for p in sample_with(shipped, ["月"], 4, form="wujue", seed=3) for line in verse_lines(p.poem)]
    assert len(lines) == len(set(lines)) == 16


def rhyme_logps(shipped, poems) -> list[float]:
    """log P(the poem's rhyme group) under the model at each rhyme after its first (where the group is set)."""
    from lit_poetry.constraints import MetreClasses, TokenClasses

    model, vocab = shipped
    masks = MetreClasses.of(TokenClasses(vocab))
    out = []
    for poem in (p for p in poems if not p.loosened):  # a loosened rhyme may have left the group
        ends = [k for k, c in enumerate(poem.poem) if c in "，。"]
        rhymes = [ends[k] - 1 for k in range(1, len(ends), 2)]  # the even lines' last characters
        groups = set.intersection(*(masks.table.rhymes_on(poem.poem[k]) for k in rhymes))
        group = torch.stack([masks.groups[g] for g in groups]).any(0)  # (V,)
        ids = torch.tensor([[vocab.bos_id] + vocab.encode(poem.poem)])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids)[0][0].float(), -1)  # (T, V): position k predicts character k
        out += [logp[k].masked_fill(~group, float("-inf")).logsumexp(-1).item() for k in rhymes[1:]]
    return out


def test_the_rhyme_lookahead_writes_lines_the_rhyme_follows_from(shipped):
    """Before a rhyme the search weighs each candidate character by how likely the rhyme is after it: the
    model then finds the rhymes it wrote likelier than those written without looking ahead, the same
    requests otherwise, and every poem still keeps its rhyme."""
    from lit_poetry.generation import Request, write_poems
    from lit_poetry.search import Search

    request = Request(tuple("日红山夜湖海月"), 4, form="qilv", metre="strict", rhyme=True, seed=0)
    ahead, plain = (write_poems(*shipped, request, Search(rhyme_lookahead=n)) for n in (Search.rhyme_lookahead, 0))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(rhyme_logps(shipped, ahead)) > mean(rhyme_logps(shipped, plain)) + 0.1
    assert all(check(p.poem, level="strict").rhyme_ok for p in ahead if not p.loosened)


def test_the_lookahead_weighs_each_candidate_by_the_rhyme_after_it(shipped):
    """At the character before 五绝's last rhyme (the group set by 流), the candidates left are the nucleus's
    (at most `rhyme_lookahead`), each raised by exactly log P(a rhyme the constraints allow | the line with
    it) / temperature, computed here one candidate at a time; the others are dropped."""
    from lit_poetry.constraints import Position, TokenClasses, decide, poem_constraints
    from lit_poetry.search import Draft, Search, _look_ahead

    model, vocab = shipped
    constraints = poem_constraints(TokenClasses(vocab), "", "", "wujue", "relaxed", True)
    text, search = "白日依山尽，黄河入海流。欲穷千里目，更上一", Search()
    with torch.no_grad():
        logits, state = model(torch.tensor([[vocab.bos_id] + vocab.encode(text)]))
        scaled = logits[:, -1].float() / search.temperature  # (1, V)
        allowed = decide(constraints, Position.after(text)).mask[None]  # (1, V)
        out = _look_ahead(model, vocab, state, scaled, allowed, torch.tensor([-1]), [Draft(constraints)],
                          [Position.after(text)], [False], 1, search)[0]
        kept = torch.isfinite(out).nonzero().squeeze(1).tolist()
        assert 1 < len(kept) <= search.rhyme_lookahead and all(allowed[0, kept])
        best = vocab.itos[int(scaled[0].masked_fill(~allowed[0], float("-inf")).argmax())]
        rhymes = decide(constraints, Position.after(text + best)).mask  # (V,): 尤 rhymes of the right tone
        for char_id in kept:
            after, _ = model(torch.tensor([[char_id]]), state)
            rhyme_logp = torch.log_softmax(after[0, -1].float(), -1)[rhymes].logsumexp(0)
            torch.testing.assert_close(out[char_id], scaled[0, char_id] + rhyme_logp / search.temperature,
                                       atol=1e-4, rtol=1e-4)


def test_the_nucleus_is_drawn_whole_where_it_is_wider_than_its_first_look():
    """The nucleus is looked for among the likeliest NUCLEUS_WIDTH characters first; a flat row, whose
    nucleus is wider, is drawn from its whole nucleus, and a peaked row never beyond its own."""
    from lit_poetry.search import NUCLEUS_WIDTH, _sample_masked

    V = 4 * NUCLEUS_WIDTH
    flat = torch.zeros(V)  # top_p 0.9: a nucleus of 0.9 V characters
    peaked = torch.full((V,), -10.0)
    peaked[:3] = torch.tensor([5.0, 4.0, 0.0])  # top_p 0.9: the first two (0.73 + 0.27 of nearly all)
    allowed = torch.ones(2, V, dtype=torch.bool)
    allowed[0, -10:] = False  # never drawn
    generator = torch.Generator().manual_seed(0)
    drawn = torch.stack([_sample_masked(torch.stack([flat, peaked]), allowed, 0, 0.9, generator)
                         for _ in range(400)])  # (400, 2)
    assert len(set(drawn[:, 0].tolist())) > NUCLEUS_WIDTH and drawn[:, 0].max() < V - 10
    assert set(drawn[:, 1].tolist()) == {0, 1}


def test_second_lines_of_middle_couplets_are_parallel(shipped):
    poems = sample_with(shipped, list("日红山夜湖海月"), 1, form="qilv", seed=1)
    plain = sample_with(shipped, list("日红山夜湖海月"), 1, form="qilv", seed=1, candidates=1, temperature=0.8,
                        top_p=1.0)
    table = pair_table()
    assert parallel_rate(table, couplets(p.poem for p in poems)) >= 0.6 > parallel_rate(
        table, couplets(p.poem for p in plain))


def test_form_auto_writes_the_regular_form_the_model_drafts(shipped):
    """generate.py's default: after five-character lines the model drafts 五言, after seven 七言, and each
    poem is written in that form under strict tones and the rhyme."""
    starts = list("日红山夜湖海月春秋江")
    for prefix, chars in (("白日依山尽，黄河入海流", 5), ("朝辞白帝彩云间，千里江陵一日还", 7)):
        poems = sample_with(shipped, starts, 1, form="auto", metre="auto", prefix=prefix, seed=0, candidates=2)
        assert all(FORMS[p.form][0] == chars for p in poems), [p.form for p in poems]
    poems = sample_with(shipped, starts, 1, form="auto", metre="auto", seed=1, title="")  # the drafts' titles: none
    drafts = sample_with(shipped, starts, 1, form="free", seed=1, candidates=1, temperature=1.0, top_p=1.0, title="")
    assert [p.form for p in poems] == [nearest_form(d.poem) for d in drafts]
    assert len({p.form for p in poems}) >= 2, [p.form for p in poems]  # the model's choice, not one form
    for poem in poems:
        assert is_regular(poem.poem, poem.form) and poem.pattern.startswith(FORM_NAMES[poem.form]), poem
        if not poem.loosened:
            verdict = check(poem.poem, level="strict")
            assert verdict.tones_ok and verdict.rhyme_ok, (poem.poem, verdict.violations)
    assert sum(not p.loosened for p in poems) >= len(poems) // 2  # the check above ran
    lines = [line for p in poems for line in verse_lines(p.poem)]
    assert len(lines) == len(set(lines))  # no line twice in a request, across its forms too
    (unfit,) = sample_with(shipped, ["日月木石竹"], 1, form="auto", metre="relaxed", seed=0)  # fits no 五绝 pattern
    assert unfit.form == "free" and unfit.pattern is None and "free verse" in unfit.loosened[0]
    greedy = [[p.form for p in sample_with(shipped, starts[:4], 1, form="auto", temperature=0, title="")]
              for _ in range(2)]
    assert greedy[0] == greedy[1]  # temperature=0 drafts greedily too: no seed needed (but for a drawn title)


@given(chars=st.integers(1, 11), count=st.integers(1, 12))
def test_nearest_form_reads_the_first_line_and_the_length(chars, count):
    draft = "".join("山" * chars + ("，" if k % 2 == 0 else "。") for k in range(count))
    assert FORMS[nearest_form(draft)] == (5 if chars <= 5 else 7, 4 if count <= 6 else 8)
    assert FORMS[nearest_form(draft, acrostic="春夏")][1] == 4  # an acrostic's heads set the line count
    assert FORMS[nearest_form(draft, acrostic="春夏秋冬春")][1] == 8 and nearest_form(draft, acrostic="春" * 9) is None
    assert FORMS[nearest_form(draft, start="青山隐隐水")][0] == (5 if chars <= 5 else 7)
    assert FORMS[nearest_form(draft, start="青山隐隐水迢")][0] == 7  # start words longer than a 五言 line
    assert nearest_form(draft, start="春眠不觉晓处处闻") is None


def test_the_season_a_title_names_is_the_poems(shipped):
    """A title (or prefix) that names a season sets the poem's: another one costs a line its scene weight and
    is steered away from, as a second season named in the poem itself would be."""
    _, vocab = shipped
    w = Weights()
    spring = line_score("", "春风吹柳絮，", [-2.0] * 6, [], 4, pair_table(), w, head="《秋夜》")
    assert spring == line_score("", "春风吹柳絮，", [-2.0] * 6, [], 4, pair_table(), w) - w.scene
    assert line_score("", "秋风吹落叶，", [-2.0] * 6, [], 4, pair_table(), w, head="《秋夜》") == -2.0
    steering = Steering(vocab, pair_table(), w, "cpu")
    shift = steering.shifts(["月"] * 3, [[]] * 3, [(5, 4)] * 3, ["《秋夜》", "", "《春日》"])  # (3, V)
    chun = vocab.stoi["春"]
    assert shift[0, chun] == -w.season_logit and shift[1, chun] == 0 and shift[2, chun] == 0
    assert shift[2, vocab.stoi["秋"]] == -w.season_logit


def test_candidates_one_and_temperature_zero_are_the_plain_paths(tiny_checkpoint):
    run = generate(f"ckpt_path={tiny_checkpoint}", "start=月", "form=wujue", "candidates=1", "seed=0", "output=json")
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)[0]["lines"]) == 4
    refused = generate(f"ckpt_path={tiny_checkpoint}", "candidates=0")
    assert refused.returncode == 2 and "candidates" in refused.stderr and "Traceback" not in refused.stderr


@pytest.fixture(scope="module")
def split_texts(data_dir):
    import sys

    from .helpers import ROOT

    sys.path.insert(0, str(ROOT / "scripts"))
    from fit_duizhang import split_texts

    return split_texts(str(data_dir))


def test_duizhang_tells_real_middle_couplets_from_first_couplets_it_was_not_fitted_on(split_texts):
    table = pair_table()
    middle, first = couplets(split_texts["val"]), couplets(split_texts["val"], (0,))
    assert parallel_rate(table, middle) > 0.6 > 0.25 > parallel_rate(table, first)
    pairs = list(zip(middle[::2], first))  # one middle couplet beside each first couplet
    ranked = sum(table.score(*m) > table.score(*f) for m, f in pairs) / len(pairs)
    assert ranked > 0.75


def test_the_shipped_duizhang_table_is_a_rebuild_from_the_corpus(split_texts):
    rebuilt = PairTable.fit(split_texts["train"])
    shipped = pair_table()
    assert rebuilt.pairs == shipped.pairs and rebuilt.totals == shipped.totals
    assert rebuilt.doubled == shipped.doubled and rebuilt.doubled_end == shipped.doubled_end
    assert {"依", "萧", "纷"} <= shipped.doubled and not {"何", "不"} & shipped.doubled
    assert round(rebuilt.threshold, 4) == shipped.threshold

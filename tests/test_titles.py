"""A poem on a theme (data.titles, generate.py title=) and corpora that only train (data.train_also):
sequences, masks, splits, a titled checkpoint's writing and scoring, and the errors around titles."""

import json

import pytest
import torch

from lit_poetry.constraints import TokenClasses
from lit_poetry.data.batching import PadCollate
from lit_poetry.data.processing import ProcessingConfig, prepare_poems, process, split_poems, title_headers
from lit_poetry.errors import LitPoetryError
from lit_poetry.generation import Request, guidance_for, in_script, sample, write_poems
from lit_poetry.models.lstm_lm import LSTMLM
from lit_poetry.models.transformer import TransformerLM
from lit_poetry.scoring import Weights
from lit_poetry.search import Search, _read_heads
from lit_poetry.text import to_traditional
from lit_poetry.titles import known_titles

from .helpers import ROOT, run_cli


def titled(data_dir, **settings) -> ProcessingConfig:
    return ProcessingConfig(corpus="tang300", data_dir=str(data_dir), max_len=64, long_poems="drop", titles=True,
                            **settings)


def test_a_titled_poem_is_read_after_its_title_and_scored_on_the_poem_alone(data_dir):
    corpus = process(titled(data_dir))
    vocab, split = corpus.vocab, corpus.splits["val"]
    collate = PadCollate(vocab.pad_id, vocab.title_ids)
    assert sum(map(bool, corpus.titles)) > 0.9 * len(corpus.titles)
    for i in range(len(split)):
        poem = int(split.poem_index[i])
        head = [vocab.bos_id] + (vocab.encode(f"《{corpus.titles[poem]}》") if corpus.titles[poem] else [])
        assert split[i].tolist()[: len(head)] == head
        _, targets = collate([split[i]])
        scored = [t for t in targets[0].tolist() if t != vocab.pad_id]
        assert scored == vocab.encode(corpus.texts[poem]) + [vocab.eos_id]  # no title character scored


def test_untitled_share_is_seeded_and_only_in_train(data_dir):
    a, b = process(titled(data_dir, untitled_fraction=0.3)), process(titled(data_dir, untitled_fraction=0.3))
    n_train = len(a.splits["train"])
    assert 0.2 < 1 - a.stats["titled"]["train"] / n_train < 0.4
    assert a.stats["titled"]["val"] == len(a.splits["val"])
    assert torch.equal(a.splits["train"].ids, b.splits["train"].ids)
    untitled = process(ProcessingConfig(corpus="tang300", data_dir=str(data_dir), max_len=64, long_poems="drop"))
    assert "《" not in untitled.vocab and untitled.vocab.title_ids is None


def test_shuffled_titles_give_no_poem_its_own(data_dir):
    prepared = prepare_poems(titled(data_dir))
    ids = split_poems(prepared, titled(data_dir))["val"]
    own, shuffled = title_headers(prepared, ids, "own"), title_headers(prepared, ids, "shuffled", seed=3)
    assert set(own) == set(shuffled) == set(int(i) for i in ids)
    assert sorted(own.values()) == sorted(shuffled.values())
    assert sum(own[i] == shuffled[i] for i in own) <= sum(list(own.values()).count(t) > 1 for t in own.values())
    assert title_headers(prepared, ids, "none") == {}
    with pytest.raises(LitPoetryError, match="own, shuffled, none"):
        title_headers(prepared, ids, "mine")


def test_train_also_adds_train_poems_only(data_dir):
    alone = process(ProcessingConfig(corpus="tangshi", long_poems="window"))
    both = process(ProcessingConfig(corpus="tangshi", long_poems="window", data_dir=str(data_dir),
                                    train_also=("tang300",), measured_repeat=2))
    n = both.stats["poems_measured"]
    assert n == alone.stats["poems_kept"] and both.stats["poems_kept"] > n + 250
    assert both.vocab == alone.vocab  # the measured corpus's train split decides the vocabulary
    assert torch.equal(both.splits["val"].ids, alone.splits["val"].ids)
    train = both.splits["train"].poem_index
    assert len(train[train < n]) == 2 * len(alone.splits["train"])  # measured_repeat
    assert set(train[train >= n].tolist()) == set(range(n, both.stats["poems_kept"]))
    with pytest.raises(LitPoetryError, match=r"train_also=\[song\]"):
        ProcessingConfig(train_also="song")


def test_song_corpus_is_read_beside_tang(data_dir, tmp_path):
    """全宋诗 has the layout of 全唐诗 (poet.song.N.json): a slice of a Tang file stands in for it."""
    folder = tmp_path / "chinese-poetry" / "quantangshi"
    folder.mkdir(parents=True)
    (tmp_path / "chinese-poetry" / "mengxue").mkdir()
    (tmp_path / "chinese-poetry" / "mengxue" / "tangshisanbaishou.json").write_bytes(
        (data_dir / "chinese-poetry" / "mengxue" / "tangshisanbaishou.json").read_bytes())
    tang = json.loads((data_dir / "chinese-poetry" / "quantangshi" / "poet.tang.1000.json").read_text("utf-8"))
    (folder / "poet.song.0.json").write_text(json.dumps(tang[:60], ensure_ascii=False), "utf-8")
    corpus = process(ProcessingConfig(corpus="tang300", data_dir=str(tmp_path), train_also=("song",), titles=True))
    assert corpus.stats["poems_read"] == 320 + 60
    assert 40 < corpus.stats["poems_kept"] - corpus.stats["poems_measured"] <= 60


def test_a_titled_checkpoint_writes_with_and_without_a_title(titled_checkpoint):
    from lit_poetry.checkpoint import load_for_use

    trained = load_for_use(str(titled_checkpoint), "cpu")
    model, vocab = trained.model, trained.vocab
    kwargs = dict(form="wujue", seed=0, candidates=1, temperature=0.0)
    plain, = sample(model, vocab, ["月"], title="", **kwargs)
    autumn, = sample(model, vocab, ["月"], title="秋夜", **kwargs)
    assert len(plain.lines) == len(autumn.lines) == 4
    assert (plain.poem, plain.probabilities) != (autumn.poem, autumn.probabilities)  # the title was read
    converted, = sample(model, vocab, ["月"], title="《鞦夜》", **kwargs)  # marks go, traditional converts
    assert converted.poem == autumn.poem and converted.title == "秋夜"
    assert converted.notes == ["note: input written as the corpus is (simplified, full-width punctuation): "
                               "title 《鞦夜》 -> 秋夜"]


def test_titles_on_the_command_line(titled_checkpoint, tiny_checkpoint):
    ok = run_cli(ROOT / "generate.py", f"ckpt_path={titled_checkpoint}", "title=長安", "form=qijue", "seed=0")
    assert ok.returncode == 0 and ok.stdout.split()[0] == "《长安》" and len(ok.stdout.split()) == 1 + 4
    assert "title 長安 -> 长安" in ok.stderr
    start = run_cli(ROOT / "generate.py", f"ckpt_path={titled_checkpoint}", "start=龘", "seed=0")
    title = run_cli(ROOT / "generate.py", f"ckpt_path={titled_checkpoint}", "title=秋龘", "seed=0")
    assert start.returncode == title.returncode == 2
    assert start.stderr.strip().splitlines() == [start.stderr.strip()] and title.stderr.count("\n") == 1
    assert title.stderr.replace("title character", "start character") == start.stderr
    assert "try a character read 'da'" in title.stderr
    old = run_cli(ROOT / "generate.py", f"ckpt_path={tiny_checkpoint}", "title=秋夜", "seed=0")
    assert old.returncode == 2 and old.stderr.count("\n") == 1 and "trained without titles" in old.stderr
    assert run_cli(ROOT / "generate.py", f"ckpt_path={tiny_checkpoint}", "seed=0").returncode == 0


def test_evaluate_scores_own_shuffled_and_no_titles(titled_checkpoint):
    out = run_cli("-m", "lit_poetry", "evaluate", f"ckpt_path={titled_checkpoint}", "quality.num_samples=0",
                  "craft.form=null", "metre.form=null", "output=json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    titles = result["titles"]
    assert list(titles) == ["own", "shuffled", "none"] and result["ppl"] == titles["own"]["ppl"]
    assert len({round(t["ppl"], 6) for t in titles.values()}) == 3
    assert len({t["tokens"] for t in titles.values()}) == 1  # the same poem characters, whatever the title


@pytest.fixture(scope="module")
def shipped():
    from lit_poetry.checkpoint import load_for_use

    trained = load_for_use(None, "cpu")
    return trained.model, trained.vocab


def test_a_poem_asked_without_a_title_is_written_to_a_tang_title_holding_its_start_word(shipped, tiny_checkpoint):
    model, vocab = shipped
    poems = sample(model, vocab, ["山", "秋月", "龙"], 2, form="wujue", seed=0)
    for p in poems:  # 秋月: a title holding the word (known titles have it), else its first character
        assert p.title in known_titles() and p.start in p.title and set(p.title) <= set(vocab.itos), p
    assert len({p.title for p in poems}) > 1  # each poem draws its own
    again = sample(model, vocab, ["山", "秋月", "龙"], 2, form="wujue", seed=0)
    assert [(p.title, p.poem) for p in again] == [(p.title, p.poem) for p in poems]  # the seed replays them
    assert [p.title for p in sample(model, vocab, ["山"], form="wujue", seed=0, title="")] == [""]
    (shown,) = in_script(poems[:1], "traditional")  # script=traditional: the title too (JSON, text, page)
    assert shown.title_traditional == to_traditional(poems[0].title) == shown.as_dict()["title_traditional"]
    from lit_poetry.checkpoint import load_for_use

    untitled = load_for_use(str(tiny_checkpoint), "cpu")  # trained without titles: it writes without one
    assert [p.title for p in sample(untitled.model, untitled.vocab, ["月"], form="wujue", seed=0)] == [""]


@pytest.mark.parametrize("network", ["lstm", "transformer"])
def test_heads_of_different_lengths_read_in_one_batch_as_each_alone(network):
    from lit_poetry.data.vocab import Vocabulary

    vocab = Vocabulary([*"《》秋夜长安道月", "，", "。"])
    torch.manual_seed(0)
    model = (LSTMLM(len(vocab), embedding_dim=16, hidden_size=16) if network == "lstm"
             else TransformerLM(len(vocab), embedding_dim=16, num_heads=2, num_layers=2, ffn_size=32)).eval()
    heads = ["《秋夜》", "", "《长安道》", "秋"]
    with torch.no_grad():
        logits, state = _read_heads(model, vocab, heads, "cpu")  # (4, V)
        follow, _ = model(torch.tensor([[vocab.stoi["月"]]] * 4), state)  # (4, 1, V): the state carries on
        for r, head in enumerate(heads):
            alone, alone_state = _read_heads(model, vocab, [head], "cpu")
            torch.testing.assert_close(logits[r : r + 1], alone, atol=1e-5, rtol=1e-5)
            after, _ = model(torch.tensor([[vocab.stoi["月"]]]), alone_state)
            torch.testing.assert_close(follow[r : r + 1], after, atol=1e-5, rtol=1e-5)


def test_only_a_model_that_read_poems_untitled_is_guided():
    assert guidance_for({"untitled_fraction": 0.2}, 3.0) == 3.0 and guidance_for({"untitled_fraction": 0.2}) == 2.0
    assert guidance_for({"untitled_fraction": 0.0}, 3.0) == guidance_for(None) == 1.0  # or it never said


def test_each_character_is_drawn_from_the_guided_nucleus_at_its_place(shipped):
    """The rows read without their titles follow their titled rows through every kept line (take_rows after
    each line is chosen): teacher-forced again, each character of a guided poem lies in the top-p nucleus of
    the guided distribution at its place. Steering and the lookahead are off, so that the guided
    distribution is all that is sampled from; 3 candidate lines a poem, so that rows move at every line."""
    model, vocab = shipped
    search = Search(candidates=3, top_p=0.5, rhyme_lookahead=0,
                    weights=Weights(repeat_logit=0.0, season_logit=0.0, parallel_logit=0.0))
    han = TokenClasses(vocab).han  # (V,): what a 五绝's characters may be, without the metre
    for p in write_poems(model, vocab, Request(tuple("日山月"), 2, form="wujue", metre="off", seed=5), search):
        titled, untitled = (logprobs(model, vocab, head, p.poem) for head in (f"《{p.title}》", ""))  # (n, V)
        guided = (titled + (search.guidance - 1.0) * (titled - untitled)) / search.temperature
        shares = torch.softmax(guided.masked_fill(~han, float("-inf")), -1)  # (n, V)
        for i, c in enumerate(p.poem):
            if i and c not in "，。":  # not the start word, not a mark: both forced
                before = shares[i][shares[i] > shares[i, vocab.stoi[c]]].sum()  # the share of likelier ones
                assert before < search.top_p + 1e-3, (p.title, p.poem, i)


def logprobs(model, vocab, head: str, poem: str) -> torch.Tensor:
    """log p(· | <bos> head, poem[:i]) for each i -> (len(poem), V)"""
    ids = [vocab.bos_id] + vocab.encode(head + poem)
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]))
    return torch.log_softmax(logits[0, len(head) : len(head) + len(poem)].float(), -1)


def teacher_forced(model, vocab, head: str, poem: str) -> torch.Tensor:
    """log p(each character of `poem` | <bos> head, the characters before it) under the model -> (len(poem),)"""
    return logprobs(model, vocab, head, poem).gather(1, torch.tensor(vocab.encode(poem))[:, None]).squeeze(1)


def test_guidance_pulls_a_poem_towards_its_title(shipped):
    """The title's pull, log p(poem | title) - log p(poem), per character: higher with guidance=2 (the
    default) than with the model's own reading (guidance=1); the probabilities each poem carries are the
    model's own given its title, whatever the guidance (the rows read without it never leak in)."""
    model, vocab = shipped
    starts = list("日红山夜湖海月春秋江")
    pulls = {}
    for guidance in (1.0, 2.0):
        poems = sample(model, vocab, starts, form="wujue", seed=3, guidance=guidance)
        pull = []
        for p in poems:
            titled = teacher_forced(model, vocab, f"《{p.title}》", p.poem)
            torch.testing.assert_close(torch.tensor(p.probabilities).log(), titled, atol=2e-4, rtol=1e-4)
            pull.append(float((titled - teacher_forced(model, vocab, "", p.poem)).mean()))
        pulls[guidance] = sum(pull) / len(pull)
    assert pulls[2.0] > pulls[1.0] + 0.03, pulls  # 0.13 -> 0.20 per character at seed 3

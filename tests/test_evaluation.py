import json
import math
import subprocess
import sys

import pytest
import torch

from lit_poetry.checkpoint import load_poetry_lm
from lit_poetry.data.corpora import CORPORA
from lit_poetry.data.processing import ProcessingConfig, encode_poems, prepare_poems
from lit_poetry.evaluation import perplexity, quality_report
from lit_poetry.text import is_regular

from .helpers import ROOT


def test_perplexity_is_exp_of_the_mean_token_nll(tiny_checkpoint, data_dir):
    model, vocab = load_poetry_lm(tiny_checkpoint)
    prepared = prepare_poems(ProcessingConfig(corpus="tang300", data_dir=str(data_dir), max_len=48))
    split = encode_poems(prepared, range(12), vocab)  # a tiny corpus: 12 poems, some with <unk>
    result = perplexity(model, vocab, split, batch_size=5)

    # independently: one sequence at a time, no padding at all, log-softmax by hand
    nll, count, unk = 0.0, 0, 0
    with torch.no_grad():
        for k in range(len(split)):
            seq = split[k].long()
            logits, _ = model(seq[None, :-1])
            log_probs = logits[0] - torch.logsumexp(logits[0], dim=-1, keepdim=True)
            nll -= log_probs[torch.arange(len(seq) - 1), seq[1:]].sum().item()
            count += len(seq) - 1
            unk += int((seq[1:] == vocab.unk_id).sum())
    assert result["tokens"] == count  # every target is counted (<eos> and <unk> included), no <pad>
    assert result["ppl"] == pytest.approx(math.exp(nll / count), rel=1e-5)
    assert result["unk_rate"] == unk / count and unk > 0


def test_quality_metrics_on_hand_made_poems():
    corpus = ["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"]
    poems = [
        "白日依山尽，黄河入海流。",  # regular 五言, both lines known
        "春风春风起，秋月照我心。",  # regular 五言, two new lines; 春风 repeated
        "山高，水长。",  # 3-character lines: not a regular form
    ]
    report = quality_report(poems, corpus)
    assert report["format_valid"] == pytest.approx(2 / 3)
    assert report["novelty"] == pytest.approx(4 / 6)  # of 6 lines, 白日依山尽 and 黄河入海流 are known
    chars = "白日依山尽黄河入海流春风春风起秋月照我心山高水长"
    assert report["distinct_1"] == pytest.approx(len(set(chars)) / len(chars))
    # bigrams stay within lines: 4+4+4+4+1+1 = 18, of which 春风 appears twice
    assert report["distinct_2"] == pytest.approx(17 / 18)
    assert report["repetition"] == pytest.approx((0 + (1 - 8 / 10) + 0) / 3)


@pytest.mark.parametrize("poem, regular", [
    ("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", True),
    ("朝辞白帝彩云间，千里江陵一日还。", True),
    ("白日依山尽，黄河入海流，", False),  # even line must close with 。？！
    ("白日依山尽，黄河入海流长。", False),  # 5 then 6 characters
    ("白日依山尽。", False),  # one line
])
def test_regular_form(poem, regular):
    assert is_regular(poem) is regular


def test_evaluation_command_matches_training_val_perplexity(tiny_checkpoint):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    best = next(v["best_model_score"] for k, v in ckpt["callbacks"].items()
                if k.startswith("ModelCheckpoint") and "'monitor': 'val/ppl'" in k)
    args = [f"ckpt_path={tiny_checkpoint.parent / 'best.ckpt'}", "quality.num_samples=2", "output=json"]
    run = subprocess.run([sys.executable, "-m", "lit_poetry", "evaluate", *args], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ppl"] == pytest.approx(float(best), rel=1e-4)  # the val split and vocabulary round-trip
    assert 0 <= result["quality"]["format_valid"] <= 1 and result["quality"]["poems"] == 14


def test_evaluation_reads_the_corpus_with_the_checkpoints_data_settings(tmp_path):
    """Trained on 40-character poems cut at a line end: a corpus file is read that way without `data=`."""
    from lit_poetry.training import train

    from .helpers import compose_train, run_cli

    train(compose_train(tmp_path, ["data.max_len=40", "data.long_poems=truncate", "callbacks=last_checkpoint"]))
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    corpus = CORPORA["tangshi"].builtin  # any file: the built-in copy of the small corpus

    def ppl(*extra):
        run = run_cli("-m", "lit_poetry", "evaluate", f"ckpt_path={ckpt}", f"corpus={corpus}", "split=all",
                      "quality.num_samples=0", "output=json", *extra)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    from_ckpt = ppl()
    assert from_ckpt["data_settings_from"] == "the checkpoint"
    assert from_ckpt["data_settings"]["max_len"] == 40 and from_ckpt["data_settings"]["long_poems"] == "truncate"
    as_trained = ppl("data=tangshi", "data.max_len=40", "data.long_poems=truncate")
    assert as_trained["data_settings_from"] == "the data config"
    assert from_ckpt["ppl"] == pytest.approx(as_trained["ppl"], rel=1e-6)
    assert from_ckpt["tokens"] == as_trained["tokens"]
    windows = ppl("data=tangshi")  # told otherwise: 24-character windows, another set of targets
    assert windows["tokens"] != from_ckpt["tokens"]
    # #41: one unrelated data key made the whole default data config win; now only that key changes
    assert ppl("data.download=false")["tokens"] == from_ckpt["tokens"]
    shorter = ppl("data.max_len=30")
    assert shorter["data_settings_from"] == "the checkpoint, with max_len=30"
    assert shorter["data_settings"]["max_len"] == 30 and shorter["data_settings"]["long_poems"] == "truncate"


def test_metre_report_on_hand_made_poems():
    from lit_poetry.evaluation import metre_report

    report = metre_report(["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",  # regular
                           "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",  # a 古绝: 仄 rhymes
                           "山高，水长。"])  # no regular shape: not counted
    assert report["poems"] == 3 and report["regular_shape"] == 2
    assert report["tones_ok"] == 0.5 and report["rhyme_ok"] == 0.5
    assert 0.5 < report["fixed_positions_ok"] < 1

import json
import math
import subprocess
import sys

import pytest
import torch

from lit_poetry.checkpoint import load_poetry_lm
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
    best = next(v for k, v in ckpt["callbacks"].items() if k.startswith("ModelCheckpoint"))["best_model_score"]
    args = [f"ckpt_path={tiny_checkpoint.parent / 'best.ckpt'}", "quality.num_samples=2", "output=json"]
    run = subprocess.run([sys.executable, "-m", "lit_poetry.evaluate", *args], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ppl"] == pytest.approx(float(best), rel=1e-4)  # the val split and vocabulary round-trip
    assert 0 <= result["quality"]["format_valid"] <= 1 and result["quality"]["poems"] == 14

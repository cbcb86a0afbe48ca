"""The export (int8 weights, one scale per output unit) and the model shipped inside the package."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.checkpoint import load_trained
from lit_poetry.errors import LitPoetryError
from lit_poetry.export import export
from lit_poetry.models.lstm_lm import LSTMLM
from lit_poetry.models.quantize import dequantize, export_weights, import_weights, quantize
from lit_poetry.resources import SHIPPED_MODEL

from .helpers import run_cli


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 40), dim=st.sampled_from([0, 1]), scale=st.floats(1e-3, 1e3),
       seed=st.integers(0, 10_000))
def test_int8_rounding_errs_by_at_most_half_a_step(rows, cols, dim, scale, seed):
    w = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed)) * scale
    packed = quantize(w, dim)
    assert packed["int8"].dtype == torch.int8 and packed["scale"].shape[dim] == w.shape[dim]
    assert ((dequantize(packed) - w).abs() <= packed["scale"] / 2 + 1e-6 * scale).all()


def test_tied_weights_are_stored_once():
    model = LSTMLM(50, embedding_dim=16, hidden_size=16, tie_weights=True)
    packed = export_weights(model.state_dict(), model.quantize_dim)
    assert packed["same_as"] == {"head.weight": "embedding.weight"}
    again = LSTMLM(50, embedding_dim=16, hidden_size=16, tie_weights=True)
    again.load_state_dict(import_weights(packed))
    assert again.head.weight is again.embedding.weight


def next_char_log_probs(model, vocab, poems):
    ids = torch.tensor([[vocab.bos_id, *vocab.encode(p)] for p in poems])  # (B, T)
    with torch.no_grad():
        logits, _ = model(ids)
    return torch.log_softmax(logits.float(), -1)  # (B, T, V)


def test_an_export_loads_weights_only_and_predicts_as_its_checkpoint(tiny_checkpoint, tmp_path):
    out = tmp_path / "model.pt"
    export(str(tiny_checkpoint), str(out), {"name": "tiny", "command": "pytest", "val_ppl": 1.0})
    raw = torch.load(out, weights_only=True)
    assert raw["format"] == "lit-poetry-export/1" and raw["card"]["name"] == "tiny"
    assert out.stat().st_size < tiny_checkpoint.stat().st_size / 3  # no optimizer state, int8 weights
    source, exported = load_trained(tiny_checkpoint), load_trained(out)
    assert exported.vocab.to_dict() == source.vocab.to_dict() and exported.data == source.data
    poems = ["白日依山尽黄河入海流", "床前明月光疑是地上霜"]
    p, q = next_char_log_probs(source.model, source.vocab, poems), next_char_log_probs(exported.model,
                                                                                      exported.vocab, poems)
    kl = (p.exp() * (p - q)).sum(-1)  # (B, T): KL(source || export) per position
    assert kl.max() < 1e-3, kl.max()


def test_damaged_or_foreign_files_are_one_clear_error(tiny_checkpoint, tmp_path):
    out = tmp_path / "model.pt"
    export(str(tiny_checkpoint), str(out), {})
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": {}, "something": 1}, foreign)
    for path in (damaged, foreign):
        with pytest.raises(LitPoetryError, match="is not a lit-poetry checkpoint"):
            load_trained(path)
        run = run_cli("generate.py", f"ckpt_path={path}", "start=月")
        assert run.returncode == 2 and run.stderr.strip().startswith("error:") and "Traceback" not in run.stderr


def test_the_export_command_writes_a_file_generate_reads(tiny_checkpoint, tmp_path):
    out = tmp_path / "model.pt"
    run = run_cli("-m", "lit_poetry", "export", f"ckpt_path={tiny_checkpoint}", f"out={out}", "card.name=tiny",
                  "card.val_ppl=12.5")
    assert run.returncode == 0, run.stderr[-2000:]
    poem = run_cli("generate.py", f"ckpt_path={out}", "start=月", "form=wujue", "seed=0")
    assert poem.returncode == 0 and len(poem.stdout.split()) == 4, poem.stderr[-2000:]


def test_the_shipped_model_writes_poems_without_a_checkpoint():
    assert SHIPPED_MODEL.is_file() and SHIPPED_MODEL.stat().st_size <= 12 * 2**20
    card = torch.load(SHIPPED_MODEL, weights_only=True)["card"]
    assert {"name", "command", "val_ppl"} <= card.keys() and card["val_ppl"] <= 80
    run = run_cli("generate.py", "start=月", "form=wujue", "seed=0", "output=json")
    assert run.returncode == 0, run.stderr[-2000:]
    (poem,) = json.loads(run.stdout)
    lines = [line.rstrip("，。") for line in poem["lines"]]
    assert len(lines) == 4 and all(len(line) == 5 for line in lines) and lines[0][0] == "月"
    assert f"model: {card['name']}" in run.stderr and str(card["val_ppl"]) in run.stderr

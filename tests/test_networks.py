"""The network protocol (models/base.py, models/build.py): every network of configs/model/ trains, is saved
and loaded, exported and loaded, writes under every constraint and is served on the page; checkpoints
from before networks had a `_target_` still load."""

import pytest
import torch
from omegaconf import OmegaConf

from lit_poetry.checkpoint import load_trained, read_checkpoint
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.export import export
from lit_poetry.generation import sample
from lit_poetry.metre import check
from lit_poetry.models.build import build_network
from lit_poetry.models.transformer import TransformerLM
from lit_poetry.text import is_regular

from .helpers import ROOT, TINY, compose_train

NETWORKS = {"lstm": "LSTMLM", "fused_lstm": "FusedLSTMLM", "torch_lstm": "TorchLSTMLM", "transformer": "TransformerLM"}
SIZES = {"transformer": ["model.embedding_dim=32", "model.num_layers=2", "model.ffn_size=64"]}


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def trained(request, tmp_path_factory):
    """(network name, last.ckpt) of a few training steps of that network through the real train()."""
    from lit_poetry.training import train

    out = tmp_path_factory.mktemp(request.param)
    sizes = SIZES.get(request.param, ["model.embedding_dim=32", "model.hidden_size=48"])
    cfg = compose_train(out, [f"model={request.param}", *sizes, "callbacks=default", "~callbacks.rich_progress_bar",
                              "trainer.enable_progress_bar=false", "trainer.limit_train_batches=3"],
                        tiny=[o for o in TINY if not o.startswith("model.")])
    train(cfg)
    return request.param, out / "checkpoints" / "last.ckpt"


def test_each_network_trains_saves_and_loads_as_itself(trained):
    name, ckpt = trained
    raw = read_checkpoint(ckpt)
    assert raw["hyper_parameters"]["model"]["_target_"].endswith("." + NETWORKS[name])
    model = load_trained(ckpt).model
    assert type(model).__name__ == NETWORKS[name]
    saved = {k.removeprefix("net."): v for k, v in raw["state_dict"].items()}
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
    assert raw["global_step"] == 3


def test_each_network_exports_and_predicts_as_its_checkpoint(trained, tmp_path):
    name, ckpt = trained
    out = tmp_path / "model.pt"
    export(str(ckpt), str(out), {"name": name, "command": "pytest", "val_ppl": 1.0})
    source, exported = load_trained(ckpt), load_trained(out)
    ids = torch.tensor([[source.vocab.bos_id, *source.vocab.encode("白日依山尽，黄河入海流。")]])  # (1, T)
    with torch.no_grad():
        p = torch.log_softmax(source.model(ids)[0], -1)  # (1, T, V)
        q = torch.log_softmax(exported.model(ids)[0], -1)
    assert (p.exp() * (p - q)).sum(-1).max() < 1e-3  # KL(checkpoint || export) per position


def test_the_export_quantises_each_weight_along_its_output_units(trained, tmp_path):
    """Our LSTM stores (input, 4H) weights, the Transformer's linears (out, in): one scale per output unit."""
    name, ckpt = trained
    export(str(ckpt), str(tmp_path / "model.pt"), {})
    int8 = torch.load(tmp_path / "model.pt", weights_only=True)["weights"]["int8"]
    model = load_trained(ckpt).model
    for key, packed in int8.items():
        weight = model.state_dict()[key]
        units = weight.shape[1] if key.startswith("lstm.weight_") else weight.shape[0]
        assert packed["scale"].numel() == units, key


@pytest.mark.parametrize("form, heads", [("wujue", "春秋"), ("qilv", "")])
def test_each_network_writes_under_every_constraint(trained, form, heads):
    loaded = load_trained(trained[1])
    poems = sample(loaded.model, loaded.vocab, None if heads else ["月"], 2, acrostic=heads, form=form, metre="strict",
                   rhyme=True, seed=0, candidates=3)
    for poem in poems:
        assert is_regular(poem.poem, form), poem.poem
        assert [line[0] for line in poem.lines[: len(heads)]] == list(heads)
        assert heads or poem.poem.startswith("月")
        if not poem.loosened:  # a dead end is said; otherwise the metre holds as the checker reads it
            verdict = check(poem.poem, level="strict")
            assert verdict.tones_ok and verdict.rhyme_ok, (poem.poem, verdict.violations)
    assert len({line for poem in poems for line in poem.lines}) == sum(len(poem.lines) for poem in poems)


def test_each_network_is_served_on_the_page(trained):
    from lit_poetry.app import Limits, PoemWriter

    loaded = load_trained(trained[1])
    reply = PoemWriter(loaded.model, loaded.vocab, Limits()).write("月", "", "qijue", "", 0.8, 0.9, 0, 2, "simplified")
    assert reply.poems_html.count("月") >= 2 and reply.message == ""


def test_the_transformer_continues_from_its_cache_as_from_the_whole_sequence():
    """Generation feeds one character at a time; a row the search holds back keeps its cache as it was,
    and rows are copied from others (take_rows): each must give the logits of the plain sequence."""
    torch.manual_seed(0)
    net = TransformerLM(40, embedding_dim=16, num_layers=2, num_heads=2, ffn_size=32).eval()
    ids = torch.randint(4, 40, (3, 9))  # (B, T)
    with torch.no_grad():
        whole, _ = net(ids)  # (B, T, V)
        logits, state = net(ids[:, :4])
        steps = [logits]
        for t in range(4, 9):
            logits, state = net(ids[:, t : t + 1], state)
            steps.append(logits)
        torch.testing.assert_close(torch.cat(steps, 1), whole, atol=1e-5, rtol=1e-5)
        _, state = net(ids[:, :4])
        _, stepped = net(torch.full((3, 1), 7), state)  # row 1 writes a character it then discards
        state = net.keep_rows(torch.tensor([False, True, False]), state, stepped)
        logits, state = net(ids[:, 4:5], state)
        torch.testing.assert_close(logits[1, 0], whole[1, 4], atol=1e-5, rtol=1e-5)
        logits, _ = net(ids[[1, 1, 1], 5:6], net.take_rows(state, torch.tensor([1, 1, 1])))
        torch.testing.assert_close(logits[:, 0], whole[[1, 1, 1], 5], atol=1e-5, rtol=1e-5)


def test_a_checkpoint_from_before_targets_loads_as_the_network_its_impl_named(tiny_checkpoint, tmp_path):
    raw = torch.load(tiny_checkpoint, weights_only=True)
    model = dict(raw["hyper_parameters"]["model"])
    model.pop("_target_")
    for impl, cls in [("fused", "FusedLSTMLM"), ("autograd", "LSTMLM"), (None, "LSTMLM")]:
        old = {**model, "matmul": "auto", "step_kernel": True} | ({"impl": impl} if impl else {})
        raw["hyper_parameters"]["model"] = old
        torch.save(raw, tmp_path / "old.ckpt")
        trained = load_trained(tmp_path / "old.ckpt")
        assert type(trained.model).__name__ == cls
        assert sample(trained.model, trained.vocab, ["月"], 1, form="wujue", seed=0)[0].poem.startswith("月")
    assert type(load_trained(ROOT / "lit_poetry/assets/tang.pt").model).__name__ == "FusedLSTMLM"  # impl: fused


@pytest.mark.parametrize("target", ["os.system", "torch.nn.Linear", "lit_poetry.models.lstm.LSTM",
                                    "lit_poetry.models.nowhere.Net", "lit_poetry.models.base.LanguageModel"])
def test_a_target_that_is_not_a_network_of_the_project_is_refused_in_one_line(target):
    """A checkpoint is data: its `_target_` must not import and call whatever it names."""
    with pytest.raises(LitPoetryError, match=f"model._target_={target} is not a network of lit-poetry") as e:
        build_network({"_target_": target}, 30)
    assert "\n" not in str(e.value)


def test_a_setting_the_network_does_not_take_is_one_line():
    with pytest.raises(LitPoetryError, match="model.step_kernel is not a setting of LSTMLM"):
        build_network({"_target_": "lit_poetry.models.lstm_lm.LSTMLM", "step_kernel": True}, 30)
    with pytest.raises(LitPoetryError, match="model.num_heads=3 must split model.embedding_dim=32"):
        build_network({"_target_": "lit_poetry.models.transformer.TransformerLM", "embedding_dim": 32,
                       "num_heads": 3}, 30)


@pytest.mark.parametrize("network", ["transformer", "lstm"])
def test_the_weight_decay_spares_the_transformers_norms_and_biases_and_decays_all_of_an_lstm(network, tmp_path):
    """Through the module's configure_optimizers: a step of AdamW with zero gradients is the decay alone."""
    from lit_poetry.lit_module import PoetryLitModule

    cfg = compose_train(tmp_path, [f"model={network}", "optimizer=adamw", "optimizer.lr=0.1",
                                   "optimizer.weight_decay=0.5", "scheduler=none", *SIZES.get(network, [])],
                        tiny=[o for o in TINY if not o.startswith("model.")] if network in SIZES else TINY)
    module = PoetryLitModule(Vocabulary(list("日月山水")).to_dict(), OmegaConf.to_container(cfg.model),
                             OmegaConf.to_container(cfg.optimizer))
    before = {name: p.detach().clone() for name, p in module.net.named_parameters()}
    optimizer = module.configure_optimizers()
    for p in module.net.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for name, p in module.net.named_parameters():
        spared = network == "transformer" and p.dim() < 2  # LayerNorm gains and biases
        expected = before[name] if spared else before[name] * (1 - 0.1 * 0.5)
        torch.testing.assert_close(p.detach(), expected, msg=name)

"""The AWD-LSTM dropouts (models/dropout.py, DropConnect in models/lstm.py): what each one drops, that it
is off in eval, and that the fused LSTM's derived backward still matches autograd with DropConnect on."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.errors import LitPoetryError
from lit_poetry.models.dropout import embedding_dropout, locked_dropout
from lit_poetry.models.lstm import LSTM, FusedLSTM, TorchLSTM
from lit_poetry.models.lstm_lm import LSTMLM


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 6), T=st.integers(2, 12), D=st.integers(8, 40), p=st.sampled_from([0.2, 0.5, 0.8]))
def test_locked_dropout_one_mask_per_sequence(B, T, D, p):
    x = torch.rand(B, T, D) + 0.5  # never zero by itself
    y = locked_dropout(x, p, training=True)
    ratio = y / x  # (B, T, D): the mask, 0 or 1 / (1 - p)
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))  # the same at every time step
    kept = ratio != 0
    torch.testing.assert_close(ratio[kept], torch.full_like(ratio[kept], 1 / (1 - p)))
    assert torch.equal(locked_dropout(x, p, training=False), x)


def test_locked_dropout_masks_differ_between_sequences_and_the_model_uses_them():
    torch.manual_seed(0)
    y = locked_dropout(torch.ones(8, 5, 64), 0.5, training=True)
    assert not torch.equal(y[0], y[1])
    for locked in (True, False):
        net = LSTMLM(30, 16, 24, dropout=0.5, locked_dropout=locked).train()
        out, _ = net.features(torch.randint(3, 30, (4, 10)))  # (B, T, H)
        dropped = out == 0
        assert dropped.any()
        # locked: a unit dropped at one step is dropped at all of them; element-wise dropout differs per step
        assert torch.equal(dropped.all(1), dropped.any(1)) == locked


@given(p=st.sampled_from([0.3, 0.5]), seed=st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_embedding_dropout_zeroes_whole_rows(p, seed):
    torch.manual_seed(seed)
    weight = torch.rand(12, 6) + 0.5  # (V, E)
    ids = torch.arange(12).repeat(3, 2)  # (3, 24): every character six times
    out = embedding_dropout(weight, ids, p, training=True)  # (3, 24, E)
    for char in range(12):
        rows = out[ids == char]  # (6, E): every occurrence of the character
        assert torch.equal(rows, rows[:1].expand_as(rows))  # dropped or kept together
        assert torch.equal(rows[0], torch.zeros(6)) or torch.allclose(rows[0], weight[char] / (1 - p))
    assert torch.equal(embedding_dropout(weight, ids, p, training=False), weight[ids])


def test_embedding_dropout_drops_some_characters_and_keeps_others():
    torch.manual_seed(0)
    out = embedding_dropout(torch.ones(100, 4), torch.arange(100)[None], 0.5, training=True)
    zero = (out == 0).all(-1)
    assert 20 < zero.sum() < 80


@pytest.mark.parametrize("impl", ["autograd", "fused"])
def test_dropconnect_masks_w_h_in_training_only(impl):
    torch.manual_seed(0)
    model = {"autograd": LSTM, "fused": FusedLSTM}[impl](5, 8, weight_dropout=0.5)
    plain = {"autograd": LSTM, "fused": FusedLSTM}[impl](5, 8)
    plain.load_state_dict(model.state_dict())
    x = torch.randn(3, 7, 5)
    model.eval()
    torch.testing.assert_close(model(x)[0], plain(x)[0], rtol=0, atol=0)  # eval: W_h untouched

    model.train()
    torch.manual_seed(1)
    out, _ = model(x)
    torch.manual_seed(1)  # the same draw: DropConnect is the only random op of a one-layer forward
    masked = torch.nn.functional.dropout(model.weight_h[0].detach(), 0.5, True)
    assert (masked == 0).any() and (masked != 0).any()
    with torch.no_grad():
        plain.weight_h[0].copy_(masked)
    # one mask for the whole batch and every time step: the same as running with that masked weight
    torch.testing.assert_close(out, plain.eval()(x)[0])
    assert not torch.allclose(out, model.eval()(x)[0])


def test_fused_gradients_match_autograd_with_dropconnect():
    torch.manual_seed(0)
    reference = LSTM(16, 24, num_layers=2, weight_dropout=0.4, dropout=0.3, locked_dropout=True).double()
    fused = FusedLSTM(16, 24, num_layers=2, weight_dropout=0.4, dropout=0.3, locked_dropout=True).double()
    fused.load_state_dict(reference.state_dict())
    x = torch.randn(4, 9, 16, dtype=torch.float64)
    grads = []
    for model in (reference, fused):
        torch.manual_seed(7)  # the same masks in both
        xi = x.clone().requires_grad_()
        out, (h, c) = model.train()(xi)
        (out.square().mean() + c.sum()).backward()
        grads.append([out, xi.grad, *(p.grad for p in model.parameters())])
    assert (grads[0][4] == 0).any()  # weight_h of layer 0: dropped entries get no gradient ...
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)  # ... and the rest match autograd


def test_all_dropouts_off_in_eval_and_the_reference_refuses_dropconnect():
    torch.manual_seed(0)
    kwargs = dict(dropout=0.5, input_dropout=0.5, embedding_dropout=0.5, weight_dropout=0.5, locked_dropout=True)
    net = LSTMLM(30, 16, 16, tie_weights=True, **kwargs)
    plain = LSTMLM(30, 16, 16, tie_weights=True)
    plain.load_state_dict(net.state_dict())  # the dropouts add no parameters: checkpoints stay compatible
    ids = torch.randint(3, 30, (2, 8))
    torch.testing.assert_close(net.eval()(ids)[0], plain.eval()(ids)[0], rtol=0, atol=0)
    assert not torch.allclose(net.train()(ids)[0], plain(ids)[0])
    with pytest.raises(LitPoetryError, match="DropConnect"):
        TorchLSTM(4, 4, weight_dropout=0.1)

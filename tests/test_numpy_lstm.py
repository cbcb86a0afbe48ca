import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.commands import gradcheck as gradcheck_command
from lit_poetry.commands import numpy_train as numpy_train_command
from lit_poetry.models.lstm_lm import LSTMLM
from lit_poetry.numpy_lstm import gradcheck
from lit_poetry.numpy_lstm import train as numpy_train
from lit_poetry.numpy_lstm.model import NumpyLSTMLM
from lit_poetry.numpy_lstm.optim import OPTIMIZERS


def batch(vocab=25, B=3, T=6, seed=0):
    rng = np.random.default_rng(seed)
    inputs, targets = rng.integers(1, vocab, (B, T)), rng.integers(1, vocab, (B, T))
    targets[0, T // 2 :] = 0  # <pad>: masked out of the loss
    return inputs, targets


@pytest.mark.parametrize("layers, tie", [(1, False), (2, False), (2, True)])
def test_gradient_check_covers_every_tensor(layers, tie):
    model = NumpyLSTMLM(25, 8, 8, layers, tie_weights=tie, seed=layers)
    rows = gradcheck.gradient_check(model, *batch(), samples=6, seed=layers)
    assert {r[0] for r in rows} == set(model.params)  # embedding and output layer included
    errors = np.array([r[-1] for r in rows])
    assert errors.mean() <= 1e-7, errors.mean()


def test_gradcheck_command_exit_code(capsys):
    assert gradcheck_command.main(["samples=3"]) == 0
    out = capsys.readouterr().out
    assert "average relative error" in out and "embedding" in out and "head_weight" in out
    assert gradcheck_command.main(["--samples", "3", "tol=1e-30"]) == 1  # a tolerance nothing meets


@settings(max_examples=10, deadline=None)
@given(layers=st.integers(1, 2), tie=st.booleans(), seed=st.integers(0, 100))
def test_numpy_matches_pytorch_autograd_lstm(layers, tie, seed):
    """Same weights, same batch: loss and every gradient within 1e-9 in float64."""
    torch.manual_seed(seed)
    lm = LSTMLM(25, 8, 8 if tie else 7, num_layers=layers, tie_weights=tie).double()
    np_model = NumpyLSTMLM(25, 8, 8 if tie else 7, layers, tie_weights=tie)
    np_model.load_poetry_lm(lm)
    inputs, targets = batch(seed=seed)
    loss, grads = np_model.loss_and_grads(inputs, targets)

    x, y = torch.tensor(inputs), torch.tensor(targets)
    hidden, _ = lm.features(x)
    keep = y != 0
    torch_loss = F.cross_entropy(lm.head(hidden[keep]), y[keep])
    torch_loss.backward()
    assert abs(loss - torch_loss.item()) <= 1e-9
    named = dict(lm.named_parameters())
    for name, g in grads.items():
        np.testing.assert_allclose(g, named[np_model._torch_name(name)].grad.numpy(), atol=1e-9, rtol=0)


def test_weights_round_trip_to_poetry_lm():
    np_model = NumpyLSTMLM(25, 6, 6, 2, tie_weights=True, seed=3)
    lm = LSTMLM(25, 6, 6, num_layers=2, tie_weights=True).double()
    lm.load_state_dict(np_model.to_poetry_lm_state_dict())
    again = NumpyLSTMLM(25, 6, 6, 2, tie_weights=True, seed=4)
    again.load_poetry_lm(lm)
    for name in np_model.params:
        np.testing.assert_array_equal(again.params[name], np_model.params[name])


TORCH_OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"lr": 0.1}),
    "momentum": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.8}),
    "adagrad": (torch.optim.Adagrad, {"lr": 0.05, "eps": 1e-6}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    "adam": (torch.optim.Adam, {"lr": 0.01, "betas": (0.5, 0.99), "eps": 1e-6}),
}


@pytest.mark.parametrize("name", TORCH_OPTIMIZERS)
def test_numpy_optimizer_matches_torch_for_10_steps(name):
    cls, kwargs = TORCH_OPTIMIZERS[name]
    rng = np.random.default_rng(0)
    start = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=5)}
    params = {k: v.copy() for k, v in start.items()}
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    ours = OPTIMIZERS[name](params, **kwargs)
    theirs = cls(tensors.values(), **kwargs)
    for _ in range(10):
        grads = {k: rng.normal(size=v.shape) for k, v in start.items()}
        ours.step(grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        theirs.step()
    for k in start:
        np.testing.assert_allclose(params[k], tensors[k].detach().numpy(), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_settings_come_from_the_lightning_configs(name):
    settings = numpy_train.optimizer_settings(name)
    OPTIMIZERS[name]({"w": np.zeros(2)}, **settings)  # every key is a constructor argument
    assert settings["lr"] == {"adam": 1e-3, "rmsprop": 1e-2, "adagrad": 1e-2, "sgd": 1e-3, "momentum": 1e-1}[name]


def test_numpy_training_loss_falls():
    losses = numpy_train_command.train_numpy(["steps=60", "hidden=32", "embed=16", "batch=8", "log_every=30",
                                              "optimizer=adam", "lr=1e-2"])
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.5

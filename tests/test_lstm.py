import copy

import pytest
import torch

from lit_poetry.models.lstm import LSTM, FusedLSTM
from lit_poetry.models.lstm_lm import LSTMLM

LAYERS = {"autograd": LSTM, "fused": FusedLSTM}


def ours_from_torch(ref: torch.nn.LSTM, impl: str = "autograd") -> LSTM:
    w = ref.weight_hh_l0
    model = LAYERS[impl](ref.input_size, ref.hidden_size, ref.num_layers).to(w.device, w.dtype)
    model.load_from_torch(ref)
    return model


def torch_grads_in_our_layout(ref: torch.nn.LSTM) -> LSTM:
    """nn.LSTM's parameter gradients mapped through the same layout change as its weights."""
    grads = copy.deepcopy(ref)
    with torch.no_grad():
        for name, p in grads.named_parameters():
            g = getattr(ref, name).grad
            p.copy_(torch.zeros_like(g) if name.startswith("bias_hh") else g)  # one bias here, two there
    return ours_from_torch(grads)


def run_both(impl, dtype, layers, with_state, B=3, T=7, I=5, H=6, device="cpu"):
    torch.manual_seed(layers + 10 * with_state)
    ref = torch.nn.LSTM(I, H, layers, batch_first=True).to(device, dtype)
    ours = ours_from_torch(ref, impl)
    x = torch.randn(B, T, I, dtype=dtype, device=device)
    state = tuple(torch.randn(layers, B, H, dtype=dtype, device=device) for _ in range(2)) if with_state else None
    results = []
    for model in (ref, ours):
        xi = x.clone().requires_grad_()
        si = tuple(s.clone().requires_grad_() for s in state) if state else None
        out, (h, c) = model(xi, si)
        # a loss that weighs every output and the final state differently
        weights = torch.linspace(-1, 1, out.numel(), dtype=dtype, device=out.device).view_as(out)
        loss = (out * weights).sum() + (h**2).sum() + c.sum()
        loss.backward()
        results.append((out, h, c, xi.grad, *(s.grad for s in si or ())))
    return ref, ours, results


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
def test_autograd_lstm_matches_nn_lstm(dtype, tol, layers, with_state, device):
    ref, ours, (theirs, mine) = run_both("autograd", dtype, layers, with_state, device=device)
    for a, b in zip(theirs, mine):
        torch.testing.assert_close(b, a, atol=tol, rtol=tol)
    expected = torch_grads_in_our_layout(ref)
    for (name, p), q in zip(ours.named_parameters(), expected.parameters()):
        torch.testing.assert_close(p.grad, q, atol=tol, rtol=tol, msg=name)


def test_state_carries_across_calls():
    """Feeding a sequence in two halves with the state in between equals feeding it whole (generation relies on it)."""
    torch.manual_seed(0)
    model = LSTM(4, 5, num_layers=2).double()
    x = torch.randn(2, 9, 4, dtype=torch.double)
    whole, (h, c) = model(x)
    first, state = model(x[:, :4])
    second, (h2, c2) = model(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    torch.testing.assert_close((h2, c2), (h, c))


def test_initialisation_scale_and_forget_bias():
    model = LSTM(8, 16, init_scale=None, forget_bias=1.0)
    bound = 1 / 16**0.5
    assert model.weight_h[0].abs().max() <= bound and model.weight_h[0].abs().max() > 0.9 * bound
    assert torch.all(model.bias[0][:16] == 1.0)


def test_poetry_lm_tied_weights_and_shapes():
    lm = LSTMLM(50, embedding_dim=12, hidden_size=12, tie_weights=True, embedding_activation="tanh")
    assert lm.head.weight is lm.embedding.weight
    logits, (h, c) = lm(torch.randint(0, 50, (3, 7)))
    assert logits.shape == (3, 7, 50) and h.shape == c.shape == (1, 3, 12)

import csv

import pytest
import torch

from lit_poetry.models import gemm
from lit_poetry.models.gemm import StepMatmul as gemm_StepMatmul
from lit_poetry.models.lstm import LSTM, FusedLSTM, TorchLSTM
from lit_poetry.training import train

from .helpers import compose_train


def pair(I, H, layers, dtype=torch.float64, seed=0, device="cpu"):
    torch.manual_seed(seed)
    reference = LSTM(I, H, layers).to(device, dtype)
    fused = FusedLSTM(I, H, layers).to(device, dtype)
    fused.load_state_dict(reference.state_dict())
    return reference, fused


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
def test_torch_gradcheck_float64(layers, with_state, device):
    _, fused = pair(3, 4, layers, device=device)
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True, device=device)
    state = tuple(torch.randn(layers, 2, 4, dtype=torch.float64, requires_grad=True, device=device) for _ in range(2))
    params = tuple(fused.parameters())

    def f(x, *rest):
        out, (h, c) = fused(x, rest[:2] if with_state else None)
        return out, h, c

    inputs = (x, *state) if with_state else (x,)
    assert torch.autograd.gradcheck(f, inputs)
    assert torch.autograd.gradcheck(lambda *p: f(*inputs), params)  # the parameters are perturbed in place


@pytest.mark.parametrize("layers", [1, 2])
def test_fused_equals_autograd_float32_on_training_shapes(layers, device):
    reference, fused = pair(64, 96, layers, torch.float32, seed=layers, device=device)
    x = torch.randn(16, 48, 64, device=device)
    state = tuple(torch.randn(layers, 16, 96, device=device) * 0.5 for _ in range(2))
    results = []
    for model in (reference, fused):
        xi = x.clone().requires_grad_()
        out, (h, c) = model(xi, state)
        (out.square().mean() + h.sum() + c.mean()).backward()
        results.append([out, h, c, xi.grad, *(p.grad for p in model.parameters())])
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("impl", ["torch", "autograd", "fused"])
def test_bf16_autocast_runs_and_stays_close(impl, device):
    if impl == "torch" and device.type == "cpu" and not gemm.onednn_takes_bf16():
        pytest.skip("nn.LSTM runs bf16 on CPUs through oneDNN, which refuses bf16 on this CPU (AVX2 only)")
    torch.manual_seed(0)
    model = {"torch": TorchLSTM, "autograd": LSTM, "fused": FusedLSTM}[impl](32, 48).to(device)
    x = torch.randn(4, 20, 32, device=device)
    exact, _ = model(x)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        out, (h, c) = model(x)
        out.float().sum().backward()
    assert (out.float() - exact).abs().max() < 5e-2
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.parameters())


def loss_curve(tmp_path, overrides):
    cfg = compose_train(tmp_path, ["logger=csv", "trainer.limit_train_batches=8", "trainer.limit_val_batches=null",
                                   *overrides])
    metrics = train(cfg)
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    return [float(r["train/loss_step"]) for r in rows if r.get("train/loss_step")], metrics["val/ppl"]


def test_fused_training_follows_autograd_and_bf16_ppl_within_2_percent(tmp_path, device):
    on = [f"trainer.accelerator={'gpu' if device.type == 'cuda' else 'cpu'}"]
    autograd_curve, autograd_ppl = loss_curve(tmp_path / "autograd", ["model=lstm", *on])
    fused_curve, fused_ppl = loss_curve(tmp_path / "fused", ["model=fused_lstm", *on])
    assert len(fused_curve) == 8
    torch.testing.assert_close(torch.tensor(fused_curve), torch.tensor(autograd_curve), rtol=1e-4, atol=1e-4)
    assert fused_ppl == pytest.approx(autograd_ppl, rel=1e-4)
    _, bf16_ppl = loss_curve(tmp_path / "bf16", ["model=fused_lstm", "trainer.precision=bf16-mixed", *on])
    assert bf16_ppl == pytest.approx(fused_ppl, rel=0.02)


def test_linear_cross_entropy_equals_the_unfused_path(device):
    from torch.nn import functional as F

    from lit_poetry.models.linear_ce import CHUNK_ROWS, linear_cross_entropy

    torch.manual_seed(0)
    N = CHUNK_ROWS + 37  # more than one chunk
    h = torch.randn(N, 16, dtype=torch.float64, requires_grad=True, device=device)
    w = torch.randn(40, 16, dtype=torch.float64, requires_grad=True, device=device)
    b = torch.randn(40, dtype=torch.float64, requires_grad=True, device=device)
    y = torch.randint(0, 40, (N,), device=device)
    grads = []
    for fn in (lambda: linear_cross_entropy(h, w, b, y), lambda: F.cross_entropy(F.linear(h, w, b), y)):
        h.grad = w.grad = b.grad = None
        loss = fn()
        loss.backward()
        grads.append((loss, h.grad, w.grad, b.grad))
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-12)
    h32, w32, b32 = (t.detach().float().requires_grad_() for t in (h, w, b))  # fp32: the CPU's oneDNN route
    loss32 = linear_cross_entropy(h32, w32, b32, y)
    loss32.backward()
    for ours, ref in zip((loss32, h32.grad, w32.grad, b32.grad), grads[1]):
        torch.testing.assert_close(ours.double(), ref, atol=1e-5, rtol=1e-4)
    small = (h[:20].detach().requires_grad_(), w, b)
    assert torch.autograd.gradcheck(lambda h, w, b: linear_cross_entropy(h, w, b, y[:20]), small)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        bf16 = linear_cross_entropy(h.float(), w.float(), b.float(), y)
    assert abs(bf16.item() - grads[1][0].item()) < 2e-2


ROUTES = [pytest.param("onednn", marks=pytest.mark.skipif(not gemm.ONEDNN, reason="this torch build has no oneDNN")),
          pytest.param("mkl", marks=pytest.mark.skipif(not torch.backends.mkl.is_available(),
                                                       reason="this torch build has no MKL")),
          "torch"]


@pytest.mark.parametrize("route", ROUTES)
def test_step_matmul_adds_the_product_on_every_route(route, monkeypatch):
    monkeypatch.setattr(gemm, "ROUTE", route)
    w, h, acc = torch.randn(48, 192), torch.randn(16, 48), torch.randn(16, 192)
    expected = acc + h @ w
    step = gemm.StepMatmul(w, 16)
    assert step.route == route  # the route asked for is the one taken, not a silent fallback
    torch.testing.assert_close(step(acc, h), expected)
    torch.testing.assert_close(step.product(h), h @ w)  # the product alone, as the step kernel's loop takes it
    torch.testing.assert_close(step(acc.clone(), h, out=acc), expected)  # out may be the accumulator itself
    back = torch.randn(16, 48)
    torch.testing.assert_close(gemm.StepMatmul(w.t(), 16)(back, acc), back + acc @ w.t())  # a transposed view
    torch.testing.assert_close(gemm.mm(h, w), h @ w)
    torch.testing.assert_close(gemm.linear(h, w.t().contiguous(), acc[0]), h @ w + acc[0])  # the output layer's
    torch.testing.assert_close(gemm.mm(h.t(), acc), h.t() @ acc)  # transposed, as the weight gradients are taken
    bf16 = gemm.StepMatmul(w.bfloat16(), 16)(torch.zeros(16, 192), h.bfloat16())  # bf16 product, fp32 sum
    assert bf16.dtype == torch.float32
    torch.testing.assert_close(bf16, h @ w, atol=0.3, rtol=0.05)


@pytest.mark.parametrize("route", ROUTES)
def test_packed_weights_follow_optimizer_steps(route, monkeypatch):
    """Packing happens per call: after each optimizer step both LSTMs see the updated weights."""
    monkeypatch.setattr(gemm, "ROUTE", route)
    reference, fused = pair(24, 32, 1, torch.float32, seed=3)
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (reference, fused)]
    x = torch.randn(8, 12, 24)
    for _ in range(3):
        results = []
        for model, optimizer in zip((reference, fused), optimizers):
            out, _ = model(x)
            out.square().mean().backward()
            results.append([out, *(p.grad.clone() for p in model.parameters())])
            optimizer.step()
            optimizer.zero_grad()
        for a, b in zip(*results):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused.weight_h[0], reference.weight_h[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("route", ROUTES)
def test_kept_layouts_are_those_of_the_weights_as_they_are(route, monkeypatch):
    """Generation steps one character a call inside gemm.keeping_prepared, which lays each weight out once:
    the steps match the reference step for step, and a weight changed in place between two steps (its
    version bumped) is laid out again; on leaving, nothing is kept."""
    monkeypatch.setattr(gemm, "ROUTE", route)
    built = []
    monkeypatch.setattr(gemm, "StepMatmul", lambda *args: built.append(args) or gemm_StepMatmul(*args))
    reference, fused = pair(24, 32, 2, torch.float32, seed=4)
    x = torch.randn(6, 5, 24)
    with torch.no_grad(), gemm.keeping_prepared():
        for model in (reference, fused):
            state, outs = None, []
            for t in range(5):
                if t == 3:  # as an optimizer step would, in place
                    model.weight_h[1].mul_(0.5)
                    model.weight_x[0].add_(0.1)
                out, state = model(x[:, t : t + 1], state)
                outs.append(out)
            model.outs = torch.cat(outs, 1)
        assert len(built) == 4 + 2  # W_x and W_h of two layers, laid out once; the two changed ones again
        torch.testing.assert_close(fused.outs, reference.outs, atol=1e-5, rtol=1e-5)
    assert not gemm._prepared

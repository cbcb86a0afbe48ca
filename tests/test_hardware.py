"""Precision and matmul routes from the hardware: simulated CPUs and GPUs on any machine, and the real
probe on the machine at hand."""

import warnings

import pytest
import torch

from lit_poetry import hardware
from lit_poetry.models import gemm
from lit_poetry.models.lstm import FusedLSTM

AVX2_LAPTOP = {"architecture": "x86_64", "cpu_name": "AVX2 laptop", "avx2": True, "avx512_bf16": False,
               "amx_bf16": False, "avx_ne_convert": False}
SAPPHIRE_RAPIDS = {**AVX2_LAPTOP, "cpu_name": "Xeon", "amx_bf16": True, "avx512_bf16": True}
ARM_WITH_BF16 = {"architecture": "aarch64", "bf16": True}


@pytest.fixture
def machine(monkeypatch):
    """machine(cpu_caps, cuda_capability): what hardware.py's probes answer from now on."""
    def simulate(caps, cuda=None):
        monkeypatch.setattr(hardware, "cpu_capabilities", lambda: dict(caps))
        monkeypatch.setattr(hardware, "cuda_capability", lambda: cuda)
        for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):  # the simulated machine's oneDNN: unlimited
            monkeypatch.delenv(name, raising=False)
    return simulate


@pytest.mark.parametrize(("caps", "cuda", "accelerator", "expected"), [
    (AVX2_LAPTOP, None, "auto", "32-true"),
    ({**AVX2_LAPTOP, "avx512_f": True}, None, "cpu", "32-true"),  # avx512 without bf16: emulated
    ({**AVX2_LAPTOP, "avx512_bf16": True}, None, "auto", "bf16-mixed"),
    (SAPPHIRE_RAPIDS, None, "cpu", "bf16-mixed"),
    ({**AVX2_LAPTOP, "avx_ne_convert": True}, None, "auto", "bf16-mixed"),
    (ARM_WITH_BF16, None, "auto", "bf16-mixed"),
    ({"architecture": "arm64"}, None, "auto", "32-true"),  # an Apple M1 as torch sees it: no bf16 flag
    (AVX2_LAPTOP, (7, 0), "auto", "16-mixed"),  # V100
    (AVX2_LAPTOP, (7, 5), "gpu", "16-mixed"),  # T4
    (AVX2_LAPTOP, (8, 0), "gpu", "bf16-mixed"),  # A100
    (AVX2_LAPTOP, (9, 0), "cuda", "bf16-mixed"),  # H100
    (SAPPHIRE_RAPIDS, (7, 0), "cpu", "bf16-mixed"),  # accelerator=cpu on a GPU node: the CPU decides
])
def test_auto_precision_follows_the_hardware(machine, caps, cuda, accelerator, expected):
    machine(caps, cuda)
    precision, why = hardware.auto_precision(accelerator)
    assert precision == expected
    assert why  # the line said at start


def test_explicit_bf16_on_a_cpu_without_it_warns_once_and_runs(machine):
    machine(AVX2_LAPTOP)
    with pytest.warns(UserWarning, match="slower than 32-true"):
        assert hardware.resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
    machine(SAPPHIRE_RAPIDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hardware.resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
        assert hardware.resolve_precision("32-true", "cpu") == "32-true"


@pytest.mark.parametrize("limit", ["AVX2", "avx512_core", "AVX2_VNNI"])
def test_a_onednn_limited_below_bf16_is_asked_not_the_cpu_flags(machine, monkeypatch, limit):
    """#38: under ONEDNN_MAX_CPU_ISA=AVX2 torch still reports avx512_bf16, and auto chose bf16-mixed, whose
    matmuls oneDNN then refused (20 steps in 47 minutes)."""
    machine(SAPPHIRE_RAPIDS)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", limit)
    precision, why = hardware.auto_precision("cpu")
    assert precision == "32-true" and f"oneDNN is limited to {limit} (ONEDNN_MAX_CPU_ISA)" in why
    with pytest.warns(UserWarning, match=f"limited to {limit}.*slower than 32-true"):
        hardware.resolve_precision("bf16-mixed", "cpu")
    assert not gemm.onednn_takes_bf16()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a limit at or above bf16 changes nothing
    assert hardware.auto_precision("cpu")[0] == "bf16-mixed"


def test_the_real_probe_agrees_with_torch():
    caps = torch.cpu.get_capabilities()
    native = any(caps.get(f) for f in ("avx512_bf16", "amx_bf16", "avx_ne_convert"))
    native = native and hardware.onednn_bf16_refused() is None  # the CI's simulated AVX2 machine
    if caps.get("architecture") == "x86_64":
        assert hardware.cpu_bf16_native() == native
    precision, _ = hardware.auto_precision("cpu")
    assert precision == ("bf16-mixed" if hardware.cpu_bf16_native() else "32-true")


@pytest.fixture
def fresh_probes(monkeypatch):
    """Forget which ops were found to work, before and after the test."""
    hardware.forget_probes()
    yield
    hardware.forget_probes()


def test_a_failing_onednn_op_is_skipped_with_one_warning(monkeypatch, fresh_probes):
    """A torch without oneDNN's private linear op (or one whose op fails): one warning, then torch.mm."""
    monkeypatch.setattr(gemm, "ROUTE", "onednn")

    def broken(*args, **kwargs):
        raise RuntimeError("no such op in this torch")

    monkeypatch.setattr(gemm, "_linear", broken)
    w, h = torch.randn(24, 32), torch.randn(5, 24)
    with pytest.warns(UserWarning, match="oneDNN's packed float32 matmul does not run"):
        step = gemm.StepMatmul(w, 5)
    assert step.route == "torch"
    torch.testing.assert_close(step(torch.zeros(5, 32), h), h @ w)
    with warnings.catch_warnings():  # said once
        warnings.simplefilter("error")
        assert gemm.StepMatmul(w, 5).route == "torch"


@pytest.mark.skipif(not gemm.ONEDNN, reason="this torch build has no oneDNN")
@pytest.mark.parametrize("fault", ["scaled", "sum dropped"])
def test_a_onednn_op_that_gives_other_numbers_is_skipped(fault, monkeypatch, fresh_probes):
    """#37: the private ops were probed for running, not for their numbers; one that runs but computes
    something else (a layout misread, an ignored operand) must not be used."""
    monkeypatch.setattr(gemm, "ROUTE", "onednn")
    real = gemm._linear

    def wrong(x, weight, bias=None, other=None):
        if fault == "scaled":
            return real(x, weight, bias, other) * 1.01
        return real(x, weight, bias)  # the sum is lost

    monkeypatch.setattr(gemm, "_linear", wrong)
    with pytest.warns(UserWarning, match="does not run right.*gave wrong numbers"):
        assert gemm.StepMatmul(torch.randn(24, 32), 5).route == "torch"


def test_bf16_never_goes_to_onednn_where_torch_says_it_cannot(monkeypatch, fresh_probes):
    """An AVX2-only CPU: oneDNN refuses bf16, so the fused LSTM's bf16 matmuls take torch.mm and train."""
    monkeypatch.setattr(gemm, "onednn_takes_bf16", lambda: False)
    monkeypatch.setattr(gemm, "ROUTE", "onednn")
    assert gemm.StepMatmul(torch.randn(8, 16).bfloat16(), 2).route == "torch"
    assert gemm.StepMatmul(torch.randn(8, 16), 2).route == ("onednn" if gemm.ONEDNN else "torch")  # fp32 keeps it
    torch.manual_seed(0)
    model = FusedLSTM(16, 24)
    x = torch.randn(3, 7, 16)
    exact, _ = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = model(x)
        out.float().sum().backward()
    assert (out.float() - exact).abs().max() < 5e-2
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.skipif(not gemm.ONEDNN, reason="this torch build has no oneDNN")
def test_the_real_onednn_probe_runs_fp32_here(fresh_probes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fp32 oneDNN works wherever torch has oneDNN
        assert gemm.route_works("onednn", torch.float32)
    assert gemm.route_works("onednn", torch.bfloat16) == gemm.onednn_takes_bf16()  # bf16 runs wherever it is taken


@pytest.mark.parametrize("matmul", ["auto", "onednn", "mkl", "torch"])
@pytest.mark.parametrize("step_kernel", [True, False])
def test_the_backend_is_model_config_and_every_choice_gives_the_same_numbers(matmul, step_kernel):
    """model.matmul / model.step_kernel pick the fused LSTM's routes per model (no module globals):
    every choice runs here and gives the default's loss and gradients (fp32)."""
    from lit_poetry.models.lstm_lm import FusedLSTMLM

    def loss_and_grads(**backend):
        torch.manual_seed(0)
        model = FusedLSTMLM(60, 24, 32, **backend)
        ids = torch.randint(4, 60, (5, 9))
        loss, _, _ = model.loss(ids[:, :-1], ids[:, 1:], 0)
        loss.backward()
        return [loss.detach(), *(p.grad for p in model.parameters())]

    for got, want in zip(loss_and_grads(matmul=matmul, step_kernel=step_kernel), loss_and_grads()):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_an_unknown_matmul_route_is_one_clear_error():
    from lit_poetry.errors import LitPoetryError
    from lit_poetry.models.lstm_lm import FusedLSTMLM

    with pytest.raises(LitPoetryError, match="model.matmul=cublas is not one of auto, onednn, mkl, torch"):
        FusedLSTMLM(60, 24, 32, matmul="cublas")

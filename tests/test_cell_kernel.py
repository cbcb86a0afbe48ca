"""The fused LSTM's C step kernel against the same steps in torch ops, and how it is built."""

import logging
import subprocess
import sys
from unittest import mock

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.models import cell_kernel, fused_lstm

needs_kernel = pytest.mark.skipif(cell_kernel.load() is None, reason="no C compiler to build the step kernel")


def layer_results(B, T, I, H, seed, mm_dtype, kernel: bool, scale=1.0):
    """Outputs and every gradient of one fused layer, with or without the C kernel; `scale` multiplies
    the weights (large: saturated gates)."""
    g = torch.Generator().manual_seed(seed)
    x, h0, c0 = torch.randn(B, T, I, generator=g), torch.randn(B, H, generator=g), torch.randn(B, H, generator=g)
    w_x, w_h = (torch.randn(n, 4 * H, generator=g) * scale / n**0.5 for n in (I, H))
    b = torch.randn(4 * H, generator=g)
    dh_all, dc_T = torch.randn(B, T, H, generator=g), torch.randn(B, H, generator=g)
    inputs = [t.requires_grad_() for t in (x, h0, c0, w_x, w_h, b)]
    with mock.patch.object(cell_kernel, "applies", lambda *args: kernel and cell_kernel.load() is not None):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mm_dtype == torch.bfloat16):
            out, c_T = fused_lstm.LSTMLayerFunction.apply(*inputs)
        torch.autograd.backward([out, c_T], [dh_all, dc_T])  # the backward pass takes the same path
    return [out, c_T, *(t.grad for t in inputs)]


@needs_kernel
@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 9), T=st.integers(1, 7), I=st.integers(1, 12), H=st.integers(1, 40), seed=st.integers(0, 99),
       scale=st.sampled_from([0.3, 1.0, 3.0]))
def test_kernel_steps_equal_torch_steps_fp32(B, T, I, H, seed, scale):
    """Any shape, odd widths included (the vector loops' tails): the same outputs and gradients."""
    kernel = layer_results(B, T, I, H, seed, torch.float32, kernel=True, scale=scale)
    torch_ops = layer_results(B, T, I, H, seed, torch.float32, kernel=False, scale=scale)
    for ours, ref in zip(kernel, torch_ops):
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


@needs_kernel
@pytest.mark.parametrize("B,T,I,H,seed", [(1, 1, 1, 8, 0), (8, 2, 1, 1, 8), (16, 2, 8, 33, 1)])
def test_kernel_steps_with_saturated_gates(B, T, I, H, seed):
    """Pre-activations in the hundreds (weights x 60), over two steps at most (longer, the recurrence
    at this gain turns last-bit differences into different trajectories): the forward pass is the same;
    the gradients go through 1 - tanh² and σ(1 - σ) of activations one fp32 step from ±1, where a
    last-bit difference between two tanh implementations is the whole derivative, so they agree to 1%."""
    kernel = layer_results(B, T, I, H, seed, torch.float32, kernel=True, scale=60.0)
    torch_ops = layer_results(B, T, I, H, seed, torch.float32, kernel=False, scale=60.0)
    for ours, ref in zip(kernel[:2], torch_ops[:2]):
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    for ours, ref in zip(kernel[2:], torch_ops[2:]):
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(ours, ref, atol=1e-2 * ref.abs().max().item(), rtol=1e-2)


@needs_kernel
@pytest.mark.parametrize("B,T,H", [(16, 24, 64), (3, 5, 17)])
def test_kernel_steps_equal_torch_steps_bf16(B, T, H):
    """bf16 matmuls: both paths sum in fp32 and round dnet to bf16 the same way (to nearest even)."""
    kernel = layer_results(B, T, 32, H, 0, torch.bfloat16, kernel=True)
    torch_ops = layer_results(B, T, 32, H, 0, torch.bfloat16, kernel=False)
    exact = layer_results(B, T, 32, H, 0, torch.float32, kernel=False)
    for ours, ref, fp32 in zip(kernel, torch_ops, exact):
        torch.testing.assert_close(ours, ref, atol=2e-2, rtol=2e-2)
        assert (ours.float() - fp32).abs().max() <= 2 * (ref.float() - fp32).abs().max() + 1e-3  # no worse


def test_kernel_is_built_once_per_cpu_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_POETRY_CACHE", str(tmp_path))
    builds, run = [], cell_kernel.subprocess.run

    def counting_compiles(command, **kwargs):
        if "-c" in command:  # the compile step of a build (the link step follows it)
            builds.append(command)
        return run(command, **kwargs)

    monkeypatch.setattr(cell_kernel.subprocess, "run", counting_compiles)
    cell_kernel.load.cache_clear()
    try:
        if cell_kernel.load() is None:
            pytest.skip("no C compiler to build the step kernel")
        folder = tmp_path
        assert len(builds) == 1 and len(list(folder.glob("lstm_cell-*.so"))) == 1
        assert not list(folder.glob("tmp*"))  # built under a temporary name (object file removed), then renamed
        cell_kernel.load.cache_clear()
        assert cell_kernel.load() is not None and len(builds) == 1  # found, not built again
        monkeypatch.setattr(cell_kernel, "cpu_features", lambda: "flags: another cpu")
        cell_kernel.load.cache_clear()
        assert cell_kernel.load() is not None and len(builds) == 2  # another CPU gets a build of its own
        assert len(list(folder.glob("lstm_cell-*.so"))) == 2
    finally:
        cell_kernel.load.cache_clear()


@needs_kernel
def test_loading_the_kernel_leaves_torch_denormals_alone():
    """-ffast-math on gcc's link line would turn on flush-to-zero in the loading thread: torch's own
    arithmetic on tiny numbers would change the moment the fused LSTM first runs."""
    code = ("import torch; from lit_poetry.models import cell_kernel; assert cell_kernel.load() is not None; "
            "print((torch.tensor([1e-39]) * 1.0).item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) > 0  # a float32 denormal, not flushed to 0


def test_without_a_compiler_the_torch_steps_run_and_say_so(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LIT_POETRY_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    cell_kernel.load.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=cell_kernel.__name__):
            assert cell_kernel.load() is None
            assert not cell_kernel.applies(torch.device("cpu"), torch.float32, torch.float32)
        assert "needs a C compiler" in caplog.text and "no-such-cc" in caplog.text
        assert len(layer_results(2, 3, 4, 5, 0, torch.float32, kernel=True)) == 8  # the torch steps serve
        monkeypatch.setenv("LIT_POETRY_CELL_KERNEL", "0")
        monkeypatch.delenv("CC")
        cell_kernel.load.cache_clear()
        assert cell_kernel.load() is None  # switched off
    finally:
        cell_kernel.load.cache_clear()

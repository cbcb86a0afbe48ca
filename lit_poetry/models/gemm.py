"""The matrix products of the fused LSTM, routed to the CPU library that runs them fastest.

`torch.mm` sends fp32 CPU matmuls to MKL's sgemm; oneDNN, the library `nn.LSTM`'s fused RNN calls, ran
the LSTM's fp32 products 1.2-1.6× faster on the AMD EPYC of docs/results.md (`benchmarks/bench_gemm.py`;
in bf16 both go to oneDNN). So on CPUs with oneDNN the time loop packs W_h once per pass into oneDNN's
blocked layout (forward, and again in backward: from the weight as it is then, never stale after an
optimizer step) and every step reuses it; the one-per-pass fp32 GEMMs and the fp32 output layer go
through oneDNN's linear. Generation runs one step per pass, where packing would cost as much as the step:
inside `keeping_prepared` (search.write) a pass of one step reuses the layouts of W_x and W_h made for the
same weight and batch size.

The route is the model's setting `model.matmul`: "auto" (ROUTE: "onednn" where this torch has it),
"onednn", "mkl" (MKL's packed sgemm, fp32 only) or "torch" (`torch.addmm`/`torch.mm`); every function
here takes it. `benchmarks/bench_lstm.py --impls fused,fused-mkl,fused-torch` measures the three on
your machine.

The oneDNN and MKL ops are private torch ops: each route is tried once per dtype with tiny calls checked
against `torch.mm` (`hardware.works`) and, where one fails or gives other numbers (an older or newer torch,
a build without them, a CPU that oneDNN refuses bf16 on: AVX2 without avx512), skipped with one warning
for `torch.mm`. bf16 goes to oneDNN only
where torch says oneDNN supports bf16 on this CPU.
"""

import contextlib
from collections import OrderedDict

import torch

from lit_poetry.errors import LitPoetryError
from lit_poetry.hardware import onednn_bf16_refused, works

# facts about this torch build, fixed for the process, so module constants; they are read at each call (never
# copied), which lets a test stand in another build by patching them. The model's choice is model.matmul.
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
ROUTES = ("onednn", "mkl", "torch")
ROUTE = "onednn" if ONEDNN else "torch"  # what "auto" means on this machine


def chosen(route: str | None) -> str:
    """A `model.matmul` value as a route: auto (or None) -> ROUTE."""
    if route in (None, "auto"):
        return ROUTE
    if route not in ROUTES:
        raise LitPoetryError(f"model.matmul={route} is not one of auto, {', '.join(ROUTES)}")
    return route


def _probe_operands(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, K), w (N, K), acc (B, N) with distinct entries: ones would hide a transposed or shifted layout."""
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(shape, generator=g).to(dtype) for shape in [(3, 8), (16, 8), (3, 16)])


def _expect(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    """A probe's answer against torch's fp32 product of the same (rounded) operands."""
    tol = 1e-4 if got.dtype == torch.float32 else 5e-2  # bf16 output: 8 bits of mantissa
    if not torch.allclose(got.float(), want, rtol=tol, atol=tol):
        raise ArithmeticError(f"{what} gave wrong numbers (off by up to {(got.float() - want).abs().max():.3g})")


def _try_onednn(dtype: torch.dtype) -> None:
    """Each call the routes make, against torch: packed, packed with the sum inside, and unpacked."""
    x, w, acc = _probe_operands(dtype)
    want = x.float() @ w.float().t()  # (B, N)
    packed = torch.ops.mkldnn._reorder_linear_weight(w, len(x))
    _expect(_linear(x, packed), want, "the packed product")
    _expect(_linear(x, packed, other=acc), want + acc.float(), "the packed product with its sum")
    _expect(_linear(x, w), want, "the product")


def _try_mkl() -> None:
    x, w, _ = _probe_operands(torch.float32)
    packed = torch.ops.mkl._mkl_reorder_linear_weight(w, len(x))
    _expect(torch.ops.mkl._mkl_linear(x, packed, w, None, len(x)), x @ w.t(), "the packed product")


def onednn_takes_bf16() -> bool:
    """Whether oneDNN runs bf16 here: torch says the CPU has it (avx512 or avx_ne_convert; AVX2 alone: no),
    and oneDNN's ISA is not limited below it (hardware.onednn_bf16_refused: torch does not look)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and onednn_bf16_refused() is None
    except (AttributeError, RuntimeError):
        return False


def route_works(route: str, dtype: torch.dtype) -> bool:
    """Whether `route` runs products in `dtype` on this machine (tried once, see the module docstring)."""
    if route == "onednn":
        if not ONEDNN or dtype not in (torch.float32, torch.bfloat16):
            return False
        if dtype == torch.bfloat16 and not onednn_takes_bf16():
            return False
        return works(f"oneDNN's packed {str(dtype).removeprefix('torch.')} matmul", lambda: _try_onednn(dtype))
    if route == "mkl":
        return dtype == torch.float32 and torch.backends.mkl.is_available() and works("MKL's packed sgemm", _try_mkl)
    return route == "torch"


def _route(weight: torch.Tensor, route: str | None = None) -> str:
    """The route for products with `weight`: `route` where it runs on this device and dtype, else "torch"."""
    route = chosen(route)
    if weight.device.type != "cpu" or route == "torch":
        return "torch"
    return route if route_works(route, weight.dtype) else "torch"


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
            other: torch.Tensor | None = None) -> torch.Tensor:
    """x (B, K) @ weight^T (+ bias (N,)) for a oneDNN linear weight (N, K), packed or not; plus `other`
    (B, N) if given."""
    if other is None:
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
    return torch.ops.mkldnn._linear_pointwise.binary(x, other, weight, bias, "add")


class StepMatmul:
    """acc (B, N) + h (B, K) @ weight (K, N), for the T steps of one pass: the weight is prepared once.

    Call it as `step(acc, h, out=buffer)`: the sum is written to `out` when the route can do that at no
    cost and is returned either way, so callers use the returned tensor. In bf16 the product is bf16 and
    the sum fp32 (acc's dtype), as with `torch.mm` + add.
    """

    def __init__(self, weight: torch.Tensor, batch_size: int, route: str | None = None):
        self.weight, self.route = weight, _route(weight, route)
        if self.route == "onednn":  # oneDNN's linear layout is (N, K), as nn.Linear's weight
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.t().contiguous(), batch_size)
        elif self.route == "mkl":
            self.linear_weight = weight.t().contiguous()  # (N, K)
            self.packed = torch.ops.mkl._mkl_reorder_linear_weight(self.linear_weight, batch_size)
        self.batch_size = batch_size

    def product(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, K) @ weight (K, N), in the weight's dtype."""
        if self.route == "onednn":
            return _linear(h, self.packed)
        if self.route == "mkl":
            return torch.ops.mkl._mkl_linear(h, self.packed, self.linear_weight, None, self.batch_size)
        return torch.mm(h, self.weight)

    def __call__(self, acc: torch.Tensor, h: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        same_dtype = acc.dtype == self.weight.dtype
        if self.route == "onednn":
            if same_dtype:
                return _linear(h, self.packed, other=acc)  # the sum inside the GEMM
            return torch.add(acc, _linear(h, self.packed), out=out)  # bf16 product, fp32 sum
        if self.route == "mkl":
            return torch.add(acc, self.product(h), out=out)
        if same_dtype:
            return torch.addmm(acc, h, self.weight, out=out)  # the sum inside the GEMM
        return torch.add(acc, torch.mm(h, self.weight), out=out)


PREPARED_KEPT = 8  # two weights a layer of a two-layer LSTM, at two batch sizes: the search's rows, a lookahead's
_prepared: OrderedDict[tuple, StepMatmul] = OrderedDict()
_keeping = 0  # open `keeping_prepared` blocks


@contextlib.contextmanager
def keeping_prepared():
    """Within the block, `prepared` keeps each weight's prepared layout for the next call (generation: one
    step a call, where preparing the weight every call would cost as much as the step); on leaving the
    last block they are dropped, so nothing outlives the calls that read the same weights. A weight changed
    in place bumps its version and is laid out again, but not one changed through `.data` (which does not):
    change weights outside the block. One thread at a time (the page writes one request at a time)."""
    global _keeping
    _keeping += 1
    try:
        yield
    finally:
        _keeping -= 1
        if not _keeping:
            _prepared.clear()


def prepared(weight: torch.Tensor, batch_size: int, route: str | None = None) -> StepMatmul | None:
    """Within `keeping_prepared`, `StepMatmul(weight, batch_size, route)` made once for the same weight
    (storage, shape, dtype, and version: every in-place update bumps it) and batch size; outside, None. A
    kept one holds its weight, so no other tensor can take that storage while it is kept."""
    if not _keeping:
        return None
    key = (weight.data_ptr(), weight._version, tuple(weight.shape), weight.stride(), weight.dtype,
           str(weight.device), batch_size, route)
    if key in _prepared:
        _prepared.move_to_end(key)
        return _prepared[key]
    _prepared[key] = StepMatmul(weight, batch_size, route)
    while len(_prepared) > PREPARED_KEPT:
        _prepared.popitem(last=False)
    return _prepared[key]


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, route: str | None = None) -> torch.Tensor:
    """x (M, K) @ weight (N, K)^T + bias (N,), through oneDNN for fp32 CPU tensors on the "onednn" route."""
    if _route(weight, route) == "onednn" and weight.dtype == torch.float32:
        return _linear(x, weight, bias)
    return torch.nn.functional.linear(x, weight, bias)


def mm(a: torch.Tensor, b: torch.Tensor, route: str | None = None) -> torch.Tensor:
    """a (M, K) @ b (K, N), through oneDNN for fp32 CPU tensors on the "onednn" route.

    For the LSTM's one-per-pass GEMMs: the input projection of all steps, the weight gradients, dx."""
    if _route(b, route) == "onednn" and b.dtype == torch.float32:
        return _linear(a, b.t())
    return torch.mm(a, b)

"""The LSTM of lstm.py as a torch.autograd.Function whose backward is the hand-derived BPTT
(docs/lstm_backprop.md): forward runs the time loop without building a graph and saves the gates and
cell states; backward runs only the dh recurrence step by step (one matmul per step) and gets the weight
gradients of all time steps from one large GEMM each.

Buffers are time-major (T, B, ·) so that every per-step slice is contiguous, and each step writes into
them in place: no per-step concatenation or allocation beyond the matmul itself.

Mixed precision (autocast): the matmuls run in the autocast dtype (bf16 on CPUs with avx512_bf16 and on
GPUs) with fp32 accumulation; the gate nonlinearities, the cell state C and h stay fp32, so rounding
does not accumulate along the sequence. The gate-gradient buffer that feeds the backward matmuls is
kept in the matmul dtype.

The matmuls go through gemm.py, which packs W_h once per pass for every step to reuse (oneDNN on
CPUs; the packing is redone on each call from the weight as it is then, never stale after an optimizer
step; generation's one-step passes reuse it within a request, gemm.keeping_prepared). Between them,
each step's elementwise work runs in one C kernel on CPUs (cell_kernel.py:
`forward_steps_kernel`, `backward_steps_kernel`), else in torch ops (`*_steps_torch`, any device and
dtype; the same results within fp32 rounding).
"""

import torch

from lit_poetry.models import cell_kernel
from lit_poetry.models.base import State
from lit_poetry.models.gemm import StepMatmul, mm, prepared
from lit_poetry.models.precision import device_type, matmul_dtype


class LSTMLayerFunction(torch.autograd.Function):
    """One layer: (x (B, T, I), h0, c0 (B, H), W_x (I, 4H), W_h (H, 4H), b (4H)) -> (h_all (B, T, H), C_T (B, H)).
    `route` (gemm.py) and `kernel` (cell_kernel.py) are the model's backend settings."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_x, w_h, b, route="auto", kernel=True):
        mm_dtype = matmul_dtype(x, w_h.dtype)
        ctx.route, ctx.kernel = route, kernel
        with torch.autocast(device_type(x), enabled=False):  # precision is chosen explicitly below
            return LSTMLayerFunction._forward(ctx, x, h0, c0, w_x, w_h, b, mm_dtype)

    @staticmethod
    def _forward(ctx, x, h0, c0, w_x, w_h, b, mm_dtype):
        route = ctx.route
        B, T, _ = x.shape
        H = h0.shape[-1]
        dtype = torch.float32 if mm_dtype in (torch.bfloat16, torch.float16) else w_h.dtype  # state dtype
        w_x_mm, w_h_mm = w_x.to(mm_dtype), w_h.to(mm_dtype)  # cast once, not per step
        # gates starts as the input projection of every step (one GEMM) and is filled in place
        x_tm = x.transpose(0, 1).reshape(T * B, -1).to(mm_dtype)  # (TB, I): 2-D, so one GEMM and not a bmm
        # one step a call (generation, within gemm.keeping_prepared): the weights' layouts are made once
        reuse = T == 1 and w_h_mm is w_h and w_x_mm is w_x
        kept_x, kept_h = (prepared(w_x_mm, B, route), prepared(w_h_mm, B, route)) if reuse else (None, None)
        x_w_x = kept_x.product(x_tm) if kept_x else mm(x_tm, w_x_mm, route)  # (TB, 4H)
        gates = x_w_x.to(dtype).add_(b).view(T, B, 4 * H)  # (T, B, 4H)
        c_all = torch.empty(T, B, H, dtype=dtype, device=x.device)
        tanh_c = torch.empty_like(c_all)
        h_all = torch.empty_like(c_all)
        h0, c0 = h0.to(dtype).contiguous(), c0.to(dtype).contiguous()
        kernel = cell_kernel.applies(x.device, dtype, mm_dtype, ctx.kernel)
        steps = forward_steps_kernel if kernel else forward_steps_torch
        steps(kept_h or StepMatmul(w_h_mm, B, route), h0, c0, gates, c_all, tanh_c, h_all)
        ctx.save_for_backward(x_tm, h0, c0, w_x, w_h, gates, c_all, tanh_c, h_all)
        ctx.mm_dtype, ctx.x_dtype = mm_dtype, x.dtype
        return h_all.transpose(0, 1), c_all[-1]  # (B, T, H), (B, H)

    @staticmethod
    def backward(ctx, dh_all, dc_T):
        with torch.autocast(device_type(ctx.saved_tensors[0]), enabled=False):
            return LSTMLayerFunction._backward(ctx, dh_all, dc_T)

    @staticmethod
    def _backward(ctx, dh_all, dc_T):
        x_tm, h0, c0, w_x, w_h, gates, c_all, tanh_c, h_all = ctx.saved_tensors
        mm_dtype, route = ctx.mm_dtype, ctx.route
        T, B, H = h_all.shape
        dh_tm = dh_all.transpose(0, 1) if dh_all is not None else torch.zeros_like(h_all)  # (T, B, H)
        dc = torch.zeros_like(c0) if dc_T is None else torch.empty_like(c0).copy_(dc_T)  # (B, H): ∂loss/∂C_T, ours
        dnet = torch.empty(T, B, 4 * H, dtype=mm_dtype, device=h_all.device)  # ∂loss/∂net_t, feeds the GEMMs
        kernel = cell_kernel.applies(h_all.device, c0.dtype, mm_dtype, ctx.kernel)
        steps = backward_steps_kernel if kernel else backward_steps_torch
        dh, dc = steps(StepMatmul(w_h.to(mm_dtype).t(), B, route), c0, gates, c_all, tanh_c, dh_tm, dc, dnet)
        flat = dnet.view(T * B, 4 * H)
        h_prev = torch.cat([h0[None], h_all[:-1]]).view(T * B, H)  # (TB, H): h_{t-1}
        dw_x = mm(x_tm.t(), flat, route)  # (I, 4H): every step in one GEMM
        dw_h = mm(h_prev.to(mm_dtype).t(), flat, route)  # (H, 4H)
        db = dnet.sum((0, 1), dtype=w_h.dtype)  # (4H,)
        dx = None  # (B, T, I), only when asked for (not for a first layer's input that needs no gradient)
        if ctx.needs_input_grad[0]:
            dx = mm(flat, w_x.to(mm_dtype).t(), route).view(T, B, -1).transpose(0, 1).to(ctx.x_dtype)
        return (dx, dh.to(h0.dtype), dc.to(c0.dtype),
                dw_x.to(w_x.dtype), dw_h.to(w_h.dtype), db, None, None)


def forward_steps_kernel(h_w_h: StepMatmul, h0, c0, gates, c_all, tanh_c, h_all) -> None:
    """The time loop with each step's elementwise work in one C kernel (cell_kernel.py); fills the buffers."""
    bf16 = h_w_h.weight.dtype == torch.bfloat16
    h_mm = h0.to(h_w_h.weight.dtype)  # (B, H): the operand of the next step's matmul
    h_bf16 = torch.empty_like(h_mm) if bf16 else None  # written by the kernel, read by the next matmul
    c_prev = c0
    for t in range(len(gates)):
        cell_kernel.forward_step(gates[t], h_w_h.product(h_mm), c_prev, c_all[t], tanh_c[t], h_all[t], h_bf16)
        c_prev, h_mm = c_all[t], h_bf16 if bf16 else h_all[t]


def forward_steps_torch(h_w_h: StepMatmul, h0, c0, gates, c_all, tanh_c, h_all) -> None:
    """The same loop in torch ops, for any device and dtype."""
    H = h0.shape[-1]
    h, c = h0, c0
    for t in range(len(gates)):
        net = h_w_h(gates[t], h.to(h_w_h.weight.dtype), out=gates[t])  # (B, 4H): x_t W_x + b + h_{t-1} W_h
        torch.sigmoid(net[:, : 3 * H], out=gates[t, :, : 3 * H])  # f, i, o with one sigmoid, into gates
        torch.tanh(net[:, 3 * H :], out=gates[t, :, 3 * H :])  # C̃
        f, i, o, g = gates[t].chunk(4, dim=1)  # (B, H) each
        c = torch.mul(f, c, out=c_all[t]).addcmul_(i, g)  # C_t = f ⊙ C_{t-1} + i ⊙ C̃
        h = torch.mul(o, torch.tanh(c, out=tanh_c[t]), out=h_all[t])  # h_t = o ⊙ tanh(C_t)


def backward_steps_kernel(dnet_w_h_t: StepMatmul, c0, gates, c_all, tanh_c, dh_tm, dc, dnet):
    """The dh recurrence with each step's elementwise work in one C kernel: fills dnet (T, B, 4H),
    returns ∂loss/∂h_0 and ∂loss/∂C_0 (B, H)."""
    if dh_tm.stride(-1) != 1 or dh_tm.dtype != dc.dtype:
        dh_tm = dh_tm.to(dc.dtype).contiguous()
    dh_next = None  # (B, H): dnet_{t+1} W_h^T, the part of ∂loss/∂h_t that comes from step t+1
    for t in range(len(gates) - 1, -1, -1):
        cell_kernel.backward_step(gates[t], c_all[t - 1] if t else c0, tanh_c[t], dh_tm[t], dh_next, dc, dnet[t])
        dh_next = dnet_w_h_t.product(dnet[t])
    return dh_next, dc


def backward_steps_torch(dnet_w_h_t: StepMatmul, c0, gates, c_all, tanh_c, dh_tm, dc, dnet):
    """The same recurrence in torch ops, for any device and dtype."""
    T, B, H = c_all.shape
    f, i, o, g = gates.chunk(4, dim=2)  # (T, B, H) each
    # per-step coefficients, vectorised over T (docs/lstm_backprop.md, eqs. 7-11), written in place
    # into one buffer: each is a pass over T x B x H floats, so no temporaries and no concatenation
    coef = torch.empty_like(gates)  # (T, B, 4H)
    c_f, c_i, c_o, c_g = coef.chunk(4, dim=2)
    for gate, out, times in ((f, c_f, None), (i, c_i, g), (o, c_o, tanh_c)):
        torch.addcmul(gate, gate, gate, value=-1, out=out)  # σ' = σ - σ²
        if times is not None:
            out.mul_(times)
    c_f[0].mul_(c0)  # ∂C_t/∂f_t = C_{t-1}
    c_f[1:].mul_(c_all[:-1])
    torch.mul(g, g, out=c_g).mul_(i)  # i (1 - C̃²) = i - i C̃²
    torch.sub(i, c_g, out=c_g)
    dc_from_dh = torch.mul(tanh_c, tanh_c).mul_(o)  # (T, B, H): ∂h_t/∂C_t = o (1 - tanh² C_t)
    torch.sub(o, dc_from_dh, out=dc_from_dh)
    dh_buffer = torch.empty_like(dh_tm[0])  # (B, H): each step's dh is written here
    dh = dh_tm[T - 1]  # (B, H): ∂loss/∂h_t, from the output at t and from step t+1
    for t in range(T - 1, -1, -1):
        dc = torch.addcmul(dc, dh, dc_from_dh[t])  # (B, H): ∂loss/∂C_t
        d4, c4 = dnet[t].view(B, 4, H), coef[t].view(B, 4, H)
        torch.mul(c4, dc[:, None], out=d4)  # f, i, C̃ (and o, overwritten next) scale with ∂C
        torch.mul(c4[:, 2], dh, out=d4[:, 2])  # o scales with ∂h
        # the only per-step matmul: dh_{t-1} = ∂loss/∂h_{t-1} from the output + dnet_t W_h^T
        dh = dnet_w_h_t(dh_tm[t - 1] if t else torch.zeros_like(dh), dnet[t], out=dh_buffer if t else None)
        dc = dc * f[t]  # (B, H)
    return dh, dc


def fused_lstm_layer(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w_x, w_h, b, route: str = "auto",
                     kernel: bool = True) -> tuple[torch.Tensor, State]:
    """One layer through the derived BPTT; same results as lstm.lstm_layer (route, kernel: gemm.py, cell_kernel.py)."""
    out, c = LSTMLayerFunction.apply(x, h0, c0, w_x, w_h, b, route, kernel)  # (B, T, H), (B, H)
    return out, (out[:, -1], c)

"""The LSTM of lstm.py as a torch.autograd.Function whose backward is the hand-derived BPTT
(docs/lstm_backprop.md): forward runs the time loop without building a graph and saves the gates and
cell states; backward runs only the dh recurrence step by step (one matmul per step) and gets the weight
gradients of all steps from one large GEMM each.

Mixed precision (autocast): the matmuls run in the autocast dtype (bf16 on CPU with avx512_bf16, on
GPUs), the gate nonlinearities, the cell state and h stay fp32, so rounding does not accumulate along
the sequence.
"""

import torch
from torch.nn import functional as F

from lit_poetry.models.lstm import State


def _device_type(x: torch.Tensor) -> str:
    return x.device.type if x.device.type in ("cuda", "cpu") else "cpu"


class LSTMLayerFunction(torch.autograd.Function):
    """One layer: (x (B, T, I), h0, c0 (B, H), W_x (I, 4H), W_h (H, 4H), b (4H)) -> (h_all (B, T, H), c_T (B, H))."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_x, w_h, b):
        device = _device_type(x)
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        with torch.autocast(device, enabled=False):  # precision is chosen explicitly below
            return LSTMLayerFunction._forward(ctx, x, h0, c0, w_x, w_h, b, dtype)

    @staticmethod
    def _forward(ctx, x, h0, c0, w_x, w_h, b, dtype):
        H = h0.shape[-1]
        state_dtype = w_h.dtype if dtype is None else torch.float32
        mm_x, mm_h = (w_x.to(dtype), w_h.to(dtype)) if dtype else (w_x, w_h)  # cast the weights once, not per step
        gx = torch.matmul(x.to(mm_x.dtype), mm_x).to(state_dtype) + b  # (B, T, 4H): all input projections at once
        h, c = h0.to(state_dtype), c0.to(state_dtype)
        gates, cs, hs = [], [], []
        for gx_t in gx.unbind(1):
            if dtype is None:
                net = torch.addmm(gx_t, h, mm_h)  # (B, 4H)
            else:
                net = gx_t + torch.mm(h.to(dtype), mm_h).to(state_dtype)  # (B, 4H): bf16 matmul, fp32 sum
            sig = torch.sigmoid(net[:, : 3 * H])  # (B, 3H): f, i, o in one call
            g = torch.tanh(net[:, 3 * H :])  # (B, H): C̃
            f, i, o = sig.chunk(3, dim=1)  # (B, H) each
            c = torch.addcmul(f * c, i, g)  # (B, H): C_t = f ⊙ C_{t-1} + i ⊙ C̃
            h = o * torch.tanh(c)  # (B, H)
            gates.append(torch.cat([sig, g], dim=1))
            cs.append(c)
            hs.append(h)
        gates, c_all, h_all = torch.stack(gates, 1), torch.stack(cs, 1), torch.stack(hs, 1)  # (B, T, 4H|H|H)
        ctx.save_for_backward(x, h0.to(state_dtype), c0.to(state_dtype), w_x, w_h, gates, c_all, h_all)
        ctx.mm_dtype = dtype
        return h_all, c

    @staticmethod
    def backward(ctx, dh_all, dc_T):
        with torch.autocast(_device_type(dh_all if dh_all is not None else dc_T), enabled=False):
            return LSTMLayerFunction._backward(ctx, dh_all, dc_T)

    @staticmethod
    def _backward(ctx, dh_all, dc_T):
        x, h0, c0, w_x, w_h, gates, c_all, h_all = ctx.saved_tensors
        B, T, H = h_all.shape
        mm_dtype = ctx.mm_dtype or w_h.dtype
        f, i, o, g = gates.split(H, dim=2)  # (B, T, H) each
        c_prev = torch.cat([c0[:, None], c_all[:, :-1]], 1)  # (B, T, H): C_{t-1}
        tanh_c = torch.tanh(c_all)  # (B, T, H)
        # coefficients of every step, vectorised over T; the loop then does two multiply-adds and a matmul
        dc_from_dh = o * (1 - tanh_c * tanh_c)  # (B, T, H): ∂C-path of ∂h_t/∂C_t
        coef = torch.cat([c_prev * f * (1 - f), g * i * (1 - i), tanh_c * o * (1 - o), i * (1 - g * g)], 2)  # (B,T,4H)
        w_h_t = w_h.to(mm_dtype).t()  # (4H, H)
        dh_all = dh_all if dh_all is not None else torch.zeros_like(h_all)
        dh_next = torch.zeros_like(h0)  # (B, H)
        dc_next = dc_T if dc_T is not None else torch.zeros_like(c0)  # (B, H)
        dnet = torch.empty_like(gates)  # (B, T, 4H)
        for t in range(T - 1, -1, -1):
            dh = dh_all[:, t] + dh_next  # (B, H)
            dc = torch.addcmul(dc_next, dh, dc_from_dh[:, t])  # (B, H)
            dnet_t = torch.cat([dc, dc, dh, dc], 1).mul_(coef[:, t])  # (B, 4H): ∂loss/∂net for f, i, o, C̃
            dnet[:, t] = dnet_t
            dh_next = torch.mm(dnet_t.to(mm_dtype), w_h_t).to(dh.dtype)  # (B, H): the only per-step matmul
            dc_next = dc * f[:, t]  # (B, H)
        flat = dnet.reshape(B * T, 4 * H).to(mm_dtype)  # (BT, 4H)
        h_prev = torch.cat([h0[:, None], h_all[:, :-1]], 1).reshape(B * T, H)  # (BT, H)
        dw_x = torch.mm(x.reshape(B * T, -1).to(mm_dtype).t(), flat)  # (I, 4H): all steps in one GEMM
        dw_h = torch.mm(h_prev.to(mm_dtype).t(), flat)  # (H, 4H)
        db = dnet.sum((0, 1))  # (4H,)
        dx = torch.matmul(flat, w_x.to(mm_dtype).t()).reshape(B, T, -1)  # (B, T, I)
        return (dx.to(x.dtype), dh_next.to(h0.dtype), dc_next.to(c0.dtype),
                dw_x.to(w_x.dtype), dw_h.to(w_h.dtype), db.to(w_h.dtype))


def fused_lstm(x: torch.Tensor, state: State | None, w_x: list, w_h: list, b: list, dropout: float = 0.0,
               training: bool = False) -> tuple[torch.Tensor, State]:
    """Multi-layer LSTM with the fused layer; dropout between layers as in lstm.LSTM."""
    B, L, H = x.shape[0], len(w_h), w_h[0].shape[0]
    if state is None:
        zeros = torch.zeros(L, B, H, dtype=w_h[0].dtype, device=x.device)
        state = (zeros, zeros)
    hs, cs = [], []
    for k in range(L):
        if k > 0 and dropout > 0:
            x = F.dropout(x, dropout, training)
        x, c = LSTMLayerFunction.apply(x, state[0][k], state[1][k], w_x[k], w_h[k], b[k])  # (B, T, H), (B, H)
        hs.append(x[:, -1])
        cs.append(c)
    return x, (torch.stack(hs), torch.stack(cs))  # (B, T, H), (L, B, H) x2

"""An LSTM written from its equations (report 000), autograd only.

With z_t = [h_{t-1}, x_t] and W = [W_h; W_x] (so W·z = h W_h + x W_x):
    f_t = σ(W_f·z_t + b_f)      i_t = σ(W_i·z_t + b_i)      o_t = σ(W_o·z_t + b_o)
    C̃_t = tanh(W_C·z_t + b_C)   C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t      h_t = o_t ⊙ tanh(C_t)
The four gates live side by side in the last dimension in the order (f, i, o, C̃), so one sigmoid covers
the first 3H columns and one tanh the last H. `FusedLSTM` runs the same parameters through
`fused_lstm.py`, whose backward is the hand-derived BPTT; `TorchLSTM` wraps `nn.LSTM` as the reference.

DropConnect (`weight_dropout`, AWD-LSTM): in training each forward pass drops entries of W_h with one
mask for the whole batch and all time steps; both implementations take the masked weight, and autograd
carries its gradient back through the mask.
"""

import math

import torch
from torch import nn

from lit_poetry.errors import LitPoetryError
from lit_poetry.models import gemm
from lit_poetry.models.base import State
from lit_poetry.models.dropout import sequence_dropout
from lit_poetry.models.fused_lstm import fused_lstm_layer


def lstm_layer(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_x, w_h, b) -> tuple[torch.Tensor, State]:
    """One layer over all time steps with plain autograd. x (B, T, I), h and c (B, H)."""
    H = h.shape[-1]
    gx = torch.matmul(x, w_x) + b  # (B, T, 4H): the input projection of every step in one matmul
    outputs = []
    for gx_t in gx.unbind(1):  # unbind, not gx[:, t]: indexing makes backward grow like T²
        gates = torch.addmm(gx_t, h, w_h)  # (B, 4H)
        f, i, o = torch.sigmoid(gates[:, : 3 * H]).chunk(3, dim=1)  # (B, H) each
        c_tilde = torch.tanh(gates[:, 3 * H :])  # (B, H)
        c = f * c + i * c_tilde  # (B, H)
        h = o * torch.tanh(c)  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)  # (B, T, H)


class LSTM(nn.Module):
    """Multi-layer, batch-first LSTM with autograd's backward: forward(x (B, T, I), state) -> (output
    (B, T, H), (h, c) (L, B, H))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 init_scale: float | None = None, forget_bias: float = 0.0, weight_dropout: float = 0.0,
                 locked_dropout: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.dropout = dropout
        self.weight_dropout, self.locked_dropout = weight_dropout, locked_dropout
        H = hidden_size
        self.weight_x = nn.ParameterList([nn.Parameter(torch.empty(input_size if k == 0 else H, 4 * H))
                                          for k in range(num_layers)])
        self.weight_h = nn.ParameterList([nn.Parameter(torch.empty(H, 4 * H)) for _ in range(num_layers)])
        self.bias = nn.ParameterList([nn.Parameter(torch.empty(4 * H)) for _ in range(num_layers)])
        self.reset_parameters(init_scale, forget_bias)

    def reset_parameters(self, init_scale: float | None = None, forget_bias: float = 0.0) -> None:
        """Uniform ±init_scale (default 1/√H, as nn.LSTM and the reports); forget-gate bias set apart."""
        scale = init_scale if init_scale is not None else 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -scale, scale)
        if forget_bias:
            with torch.no_grad():
                for b in self.bias:
                    b[: self.hidden_size] = forget_bias

    def zero_state(self, batch_size: int, like: torch.Tensor) -> State:
        shape = (self.num_layers, batch_size, self.hidden_size)
        dtype = like.dtype if like.is_floating_point() else self.weight_h[0].dtype
        zeros = torch.zeros(shape, dtype=dtype, device=like.device)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        assert x.dim() == 3, "batch-first input (B, T, I)"
        h0, c0 = state if state is not None else self.zero_state(x.shape[0], x)  # (L, B, H) each
        hs, cs = [], []
        for k in range(self.num_layers):
            if k > 0:  # between layers only, as nn.LSTM
                x = sequence_dropout(x, self.dropout, self.training, self.locked_dropout)
            w_h = nn.functional.dropout(self.weight_h[k], self.weight_dropout, self.training)  # DropConnect
            x, (h, c) = self.layer(x, h0[k], c0[k], self.weight_x[k], w_h, self.bias[k])
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))  # (B, T, H), (L, B, H) x2

    def layer(self, x, h, c, w_x, w_h, b) -> tuple[torch.Tensor, State]:
        """One layer over all time steps: x (B, T, I), h and c (B, H)."""
        return lstm_layer(x, h, c, w_x, w_h, b)

    @torch.no_grad()
    def load_from_torch(self, ref: nn.LSTM) -> None:
        """Copy an `nn.LSTM`'s weights (gate order i, f, g, o; two biases) into this layout (f, i, o, C̃)."""
        for k in range(self.num_layers):
            w_i, w_f, w_g, w_o = getattr(ref, f"weight_ih_l{k}").chunk(4)
            u_i, u_f, u_g, u_o = getattr(ref, f"weight_hh_l{k}").chunk(4)
            b_i, b_f, b_g, b_o = (getattr(ref, f"bias_ih_l{k}") + getattr(ref, f"bias_hh_l{k}")).chunk(4)
            self.weight_x[k].copy_(torch.cat([w_f, w_i, w_o, w_g]).T)
            self.weight_h[k].copy_(torch.cat([u_f, u_i, u_o, u_g]).T)
            self.bias[k].copy_(torch.cat([b_f, b_i, b_o, b_g]))

    def extra_repr(self) -> str:
        drop = f", weight_dropout={self.weight_dropout}" if self.weight_dropout else ""
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}{drop}"


class FusedLSTM(LSTM):
    """The same LSTM and parameters, each layer one autograd.Function whose backward is the hand-derived
    BPTT (fused_lstm.py). `matmul` (gemm.py) and `step_kernel` (cell_kernel.py) choose its backend."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, matmul: str = "auto",
                 step_kernel: bool = True, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, **kwargs)
        gemm.chosen(matmul)  # an unknown route is refused here, not at the first step
        self.matmul, self.step_kernel = matmul, bool(step_kernel)

    def layer(self, x, h, c, w_x, w_h, b) -> tuple[torch.Tensor, State]:
        return fused_lstm_layer(x, h, c, w_x, w_h, b, route=self.matmul, kernel=self.step_kernel)


class TorchLSTM(nn.Module):
    """`nn.LSTM` behind the same interface: the reference for parity tests and benchmarks only."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 init_scale: float | None = None, forget_bias: float = 0.0, weight_dropout: float = 0.0,
                 locked_dropout: bool = False):
        super().__init__()
        if weight_dropout or (locked_dropout and dropout and num_layers > 1):
            raise LitPoetryError("model=torch_lstm (nn.LSTM, the reference) has no DropConnect and no locked "
                                 "dropout between layers; use model=lstm or model=fused_lstm")
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.hidden_size, self.num_layers = hidden_size, num_layers
        if init_scale is not None:
            for p in self.lstm.parameters():
                nn.init.uniform_(p, -init_scale, init_scale)
        if forget_bias:
            with torch.no_grad():
                for k in range(num_layers):
                    getattr(self.lstm, f"bias_ih_l{k}")[hidden_size : 2 * hidden_size] = forget_bias
                    getattr(self.lstm, f"bias_hh_l{k}")[hidden_size : 2 * hidden_size] = 0.0

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        return self.lstm(x, state)


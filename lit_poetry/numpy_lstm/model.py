"""A batched NumPy LSTM language model: embedding -> LSTM (L layers) -> linear -> softmax cross-entropy.

Forward and backward follow docs/lstm_backprop.md; the equation numbers in comments point there.
Gate layout as in lit_poetry/models/lstm.py: columns (f, i, o, C̃) of W_x (I, 4H), W_h (H, 4H), b (4H).
"""

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # = 1 / (1 + e^-x), without overflow warnings


def lstm_forward(x, h0, c0, w_x, w_h, b):
    """One layer over all steps. x (B, T, I), h0 c0 (B, H) -> h_all (B, T, H) and the cache for backward."""
    B, T, _ = x.shape
    H = h0.shape[1]
    gx = x @ w_x + b  # (B, T, 4H): input projection of all steps at once
    gates = np.empty((B, T, 4 * H), dtype=x.dtype)  # activated gates f, i, o, C̃
    c_all = np.empty((B, T, H), dtype=x.dtype)
    h_all = np.empty((B, T, H), dtype=x.dtype)
    h, c = h0, c0
    for t in range(T):
        net = gx[:, t] + h @ w_h  # (B, 4H)                                     (1)
        gates[:, t, : 3 * H] = sigmoid(net[:, : 3 * H])  # f, i, o               (2)
        gates[:, t, 3 * H :] = np.tanh(net[:, 3 * H :])  # C̃                     (3)
        f, i, o, g = np.split(gates[:, t], 4, axis=1)  # (B, H) each
        c = f * c + i * g  # (B, H)                                              (4)
        h = o * np.tanh(c)  # (B, H)                                             (5)
        c_all[:, t], h_all[:, t] = c, h
    return h_all, (x, h0, c0, gates, c_all, h_all)


def lstm_backward(dh_all, dh_T, dc_T, cache, w_x, w_h):
    """BPTT for one layer. dh_all (B, T, H): loss gradient w.r.t. each output h_t (from above);
    dh_T, dc_T (B, H): gradient w.r.t. the final state. Returns dx, dh0, dc0, dW_x, dW_h, db."""
    x, h0, c0, gates, c_all, h_all = cache
    B, T, H = h_all.shape
    c_prev = np.concatenate([c0[:, None], c_all[:, :-1]], axis=1)  # (B, T, H): C_{t-1}
    h_prev = np.concatenate([h0[:, None], h_all[:, :-1]], axis=1)  # (B, T, H): h_{t-1}
    f, i, o, g = np.split(gates, 4, axis=2)  # (B, T, H) each
    tanh_c = np.tanh(c_all)  # (B, T, H)
    dnet = np.empty_like(gates)  # (B, T, 4H): gradient w.r.t. the gates' pre-activations
    dh_next, dc_next = dh_T, dc_T
    for t in reversed(range(T)):
        dh = dh_all[:, t] + dh_next  # (B, H)                                    (6)
        dc = dc_next + dh * o[:, t] * (1 - tanh_c[:, t] ** 2)  # (B, H)          (7)
        dnet[:, t, :H] = dc * c_prev[:, t] * f[:, t] * (1 - f[:, t])  # f        (8)
        dnet[:, t, H : 2 * H] = dc * g[:, t] * i[:, t] * (1 - i[:, t])  # i     (9)
        dnet[:, t, 2 * H : 3 * H] = dh * tanh_c[:, t] * o[:, t] * (1 - o[:, t])  # o   (10)
        dnet[:, t, 3 * H :] = dc * i[:, t] * (1 - g[:, t] ** 2)  # C̃              (11)
        dh_next = dnet[:, t] @ w_h.T  # (B, H)                                    (12)
        dc_next = dc * f[:, t]  # (B, H)                                          (13)
    flat = dnet.reshape(B * T, 4 * H)
    dw_x = x.reshape(B * T, -1).T @ flat  # (I, 4H): all steps in one GEMM       (14)
    dw_h = h_prev.reshape(B * T, H).T @ flat  # (H, 4H)                          (15)
    db = flat.sum(0)  # (4H,)                                                    (16)
    dx = dnet @ w_x.T  # (B, T, I)                                               (17)
    return dx, dh_next, dc_next, dw_x, dw_h, db


class NumpyLSTMLM:
    """Parameters in `self.params` (name -> array). `loss_and_grads(inputs, targets)` does forward and
    backward; positions where targets == pad_id are masked out of the mean cross-entropy."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1,
                 tie_weights: bool = False, pad_id: int = 0, dtype=np.float64, seed: int = 0):
        rng = np.random.default_rng(seed)
        V, E, H = vocab_size, embedding_dim, hidden_size
        k = 1 / np.sqrt(H)
        p = {"embedding": rng.normal(0, 0.1, (V, E))}
        for layer in range(num_layers):
            p[f"w_x{layer}"] = rng.uniform(-k, k, (E if layer == 0 else H, 4 * H))
            p[f"w_h{layer}"] = rng.uniform(-k, k, (H, 4 * H))
            p[f"b{layer}"] = rng.uniform(-k, k, 4 * H)
        if not tie_weights:
            p["head_weight"] = rng.uniform(-k, k, (V, H))
        p["head_bias"] = rng.uniform(-k, k, V)
        self.params = {name: a.astype(dtype) for name, a in p.items()}
        self.num_layers, self.hidden_size, self.tie_weights, self.pad_id = num_layers, H, tie_weights, pad_id

    def head_weight(self) -> np.ndarray:
        return self.params["embedding" if self.tie_weights else "head_weight"]

    def loss_and_grads(self, inputs: np.ndarray, targets: np.ndarray, need_grads: bool = True):
        """inputs, targets (B, T) int -> (mean token NLL, {name: gradient})."""
        p, H, L = self.params, self.hidden_size, self.num_layers
        B, T = inputs.shape
        dtype = p["embedding"].dtype
        x = p["embedding"][inputs]  # (B, T, E)
        caches = []
        for layer in range(L):
            zeros = np.zeros((B, H), dtype=dtype)
            x, cache = lstm_forward(x, zeros, zeros, p[f"w_x{layer}"], p[f"w_h{layer}"], p[f"b{layer}"])
            caches.append(cache)
        keep = targets != self.pad_id  # (B, T): no logits for <pad> positions
        h = x[keep]  # (N, H)
        logits = h @ self.head_weight().T + p["head_bias"]  # (N, V)
        logits -= logits.max(1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))  # (N, V)
        y = targets[keep]  # (N,)
        N = len(y)
        loss = -log_probs[np.arange(N), y].mean()
        if not need_grads:
            return float(loss), {}

        dlogits = np.exp(log_probs)  # (N, V): softmax - onehot, over N                (18)
        dlogits[np.arange(N), y] -= 1
        dlogits /= N
        grads = {"head_bias": dlogits.sum(0)}
        dhead = dlogits.T @ h  # (V, H)                                                   (19)
        dx = np.zeros((B, T, H), dtype=dtype)
        dx[keep] = dlogits @ self.head_weight()  # (N, H)                                 (20)
        for layer in reversed(range(L)):
            zeros = np.zeros((B, H), dtype=dtype)
            dx, _, _, dw_x, dw_h, db = lstm_backward(dx, zeros, zeros, caches[layer],
                                                     p[f"w_x{layer}"], p[f"w_h{layer}"])
            grads[f"w_x{layer}"], grads[f"w_h{layer}"], grads[f"b{layer}"] = dw_x, dw_h, db
        demb = np.zeros_like(p["embedding"])
        np.add.at(demb, inputs, dx)  # (V, E): rows of the characters used, summed        (21)
        if self.tie_weights:
            demb += dhead
        else:
            grads["head_weight"] = dhead
        grads["embedding"] = demb
        return float(loss), grads

    # ---- weights shared with the PyTorch LSTMLM ------------------------------------------------
    def load_poetry_lm(self, lm) -> None:
        """Copy an LSTMLM's weights (or a FusedLSTMLM's; identity activation) into this model."""
        sd = {k: v.detach().cpu().numpy().astype(self.params["embedding"].dtype) for k, v in lm.state_dict().items()}
        for name in self.params:
            self.params[name] = sd[self._torch_name(name)].copy()

    def to_poetry_lm_state_dict(self):
        """The same weights as an LSTMLM state dict (torch tensors)."""
        import torch

        state = {self._torch_name(name): torch.from_numpy(a.copy()) for name, a in self.params.items()}
        if self.tie_weights:  # LSTMLM lists the shared matrix under both names
            state["head.weight"] = state["embedding.weight"]
        return state

    @staticmethod
    def _torch_name(name: str) -> str:
        for prefix, torch_prefix in (("w_x", "lstm.weight_x."), ("w_h", "lstm.weight_h."), ("b", "lstm.bias.")):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                return torch_prefix + name[len(prefix) :]
        return {"embedding": "embedding.weight", "head_weight": "head.weight", "head_bias": "head.bias"}[name]

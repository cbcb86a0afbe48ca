"""A small causal Transformer beside the LSTMs: pre-norm blocks (LayerNorm -> attention, LayerNorm -> MLP),
rotary positions (no table, so no longest poem), the tied embedding and the fused output layer of
LanguageModel (base.py).

    python train.py model=transformer

Its state is a key/value cache, batch first: (valid (B, P), then keys and values (B, heads, P, d) for
each layer). A row the search holds back for a step (keep_rows) keeps the step's entry in the cache but
marked invalid, so that it is never attended to and does not count as a position.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from lit_poetry.errors import LitPoetryError
from lit_poetry.models import gemm
from lit_poetry.models.base import LanguageModel, State


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding: x (B, h, T, d), cos and sin (B, 1, T, d/2): each pair of halves turned
    by its position's angle, so that q·k depends on the distance between two positions only."""
    x1, x2 = x.float().chunk(2, dim=-1)  # (B, h, T, d/2) each
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).to(x.dtype)


class Block(nn.Module):
    def __init__(self, width: int, num_heads: int, ffn_size: int, dropout: float):
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, ffn_size), nn.GELU(), nn.Linear(ffn_size, width))

    def forward(self, x, cos, sin, past: tuple[torch.Tensor, torch.Tensor] | None, mask: torch.Tensor | None):
        """x (B, T, E); past: this layer's cached keys and values (B, h, P, d); mask (B, 1, T, P + T), True
        where a query may look, or None for plain causal attention -> x, keys and values (B, h, P + T, d)."""
        B, T, E = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)  # (B, h, T, d)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, h, P + T, d)
        p = self.dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=mask is None)
        x = x + F.dropout(self.proj(a.transpose(1, 2).reshape(B, T, E)), p, self.training)  # (B, T, E)
        x = x + F.dropout(self.mlp(self.norm2(x)), p, self.training)
        return x, k, v


class TransformerLM(LanguageModel):
    def __init__(self, vocab_size: int, embedding_dim: int = 256, num_layers: int = 4, num_heads: int = 4,
                 ffn_size: int = 1024, dropout: float = 0.1, tie_weights: bool = True, embedding_std: float = 0.02,
                 rope_base: float = 10_000.0, matmul: str = "auto"):
        super().__init__()
        if num_heads < 1 or embedding_dim % num_heads or (embedding_dim // num_heads) % 2:
            raise LitPoetryError(f"model.num_heads={num_heads} must split model.embedding_dim={embedding_dim} into "
                                 "heads of an even width (rotary positions turn pairs): e.g. num_heads=4 for 256")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.blocks = nn.ModuleList(Block(embedding_dim, num_heads, ffn_size, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(embedding_dim)
        self.head = nn.Linear(embedding_dim, vocab_size)
        for name, p in self.named_parameters():  # GPT-2's: small normal weights, zero biases, the residual
            if name.endswith("bias"):  # projections shrunk by depth so the sum of blocks starts small
                nn.init.zeros_(p)
            elif p.dim() == 2:
                depth = math.sqrt(2 * num_layers) if name.endswith(("proj.weight", "mlp.2.weight")) else 1.0
                nn.init.normal_(p, std=embedding_std / depth)
        if tie_weights:
            self.head.weight = self.embedding.weight
        gemm.chosen(matmul)  # an unknown route is refused here
        self.matmul, self.dropout = matmul, dropout
        half = embedding_dim // num_heads // 2
        self.register_buffer("inv_freq", rope_base ** (-torch.arange(half, dtype=torch.float32) / half),
                             persistent=False)  # (d/2,)

    def parameter_groups(self) -> list[dict]:
        """Matrices and the embedding decayed; LayerNorm gains and biases not (decay would pull a gain
        towards 0, shrinking every normalised activation: GPT-2's and nanoGPT's practice). The names label
        the learning-rate curves (lr-AdamW/decayed). A Transformer checkpoint saved with one group (before
        this split) does not resume; it still loads, exports and writes."""
        params = list(self.parameters())
        return [{"params": [p for p in params if p.dim() >= 2], "name": "decayed"},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0, "name": "not_decayed"}]

    def features(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> the last block's output, normed (B, T, E), and the cache after it."""
        B, T = ids.shape
        x = F.dropout(self.embedding(ids), self.dropout, self.training)  # (B, T, E)
        steps = torch.arange(T, device=ids.device)  # (T,)
        if state is None:
            valid, pasts, mask = torch.ones(B, T, dtype=torch.bool, device=ids.device), [None] * len(self.blocks), None
            positions = steps.expand(B, T)  # (B, T)
        else:
            past_valid, pasts = state[0], list(zip(state[1::2], state[2::2]))
            positions = past_valid.sum(1, keepdim=True) + steps  # (B, T): the rows' own counts of positions
            causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()  # (T, T)
            mask = torch.cat([past_valid[:, None, None, :].expand(B, 1, T, -1), causal.expand(B, 1, T, T)], dim=-1)
            valid = torch.cat([past_valid, torch.ones(B, T, dtype=torch.bool, device=ids.device)], dim=1)
        angles = positions[:, None, :, None].float() * self.inv_freq  # (B, 1, T, d/2)
        cos, sin = angles.cos(), angles.sin()
        cache = [valid]
        for block, past in zip(self.blocks, pasts):
            x, k, v = block(x, cos, sin, past, mask)
            cache += [k, v]
        return self.norm(x), tuple(cache)

    def take_rows(self, state: State, index: torch.Tensor) -> State:
        return tuple(s.index_select(0, index) for s in state)  # batch first, the mask and every layer's cache

    def keep_rows(self, frozen: torch.Tensor, old: State, new: State) -> State:
        valid = new[0].clone()  # (B, P + T): the entries a held-back row wrote stay, never to be read
        valid[frozen, old[0].shape[1]:] = False
        return (valid, *new[1:])

"""PoetryLM: embedding -> (activation) -> LSTM -> dropout -> linear over the vocabulary, and its loss.

Regularisation as in AWD-LSTM (models/dropout.py), all off by default and at evaluation: embedding
dropout (whole characters), dropout on the LSTM input and output (locked across time steps with
`locked_dropout`), DropConnect on the recurrent weights (`weight_dropout`).

The masked next-character loss lives here, beside the model, so that training, evaluation and the
benchmarks compute it the same way."""

import torch
from torch import nn
from torch.nn import functional as F

from lit_poetry.errors import LitPoetryError
from lit_poetry.models import gemm
from lit_poetry.models.base import State
from lit_poetry.models.dropout import embedding_dropout, sequence_dropout
from lit_poetry.models.linear_ce import linear_cross_entropy, pad_rows
from lit_poetry.models.lstm import make_lstm

ACTIVATIONS = {None: nn.Identity, "none": nn.Identity, "tanh": nn.Tanh, "relu": nn.ReLU}


class PoetryLM(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int = 256, hidden_size: int = 512, num_layers: int = 1,
                 dropout: float = 0.0, embedding_activation: str | None = None, tie_weights: bool = False,
                 impl: str = "autograd", init_scale: float | None = None, forget_bias: float = 0.0,
                 embedding_std: float = 0.1, embedding_dropout: float = 0.0, input_dropout: float = 0.0,
                 weight_dropout: float = 0.0, locked_dropout: bool = False, matmul: str = "auto",
                 step_kernel: bool = True):
        super().__init__()
        if embedding_activation not in ACTIVATIONS:
            raise LitPoetryError(f"embedding_activation='{embedding_activation}' is not one of none, tanh, relu")
        if tie_weights and embedding_dim != hidden_size:
            raise LitPoetryError(
                f"tie_weights needs embedding_dim == hidden_size (got {embedding_dim} and {hidden_size})")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=embedding_std)  # report 000: N(0, 0.1)
        self.activation = ACTIVATIONS[embedding_activation]()
        backend = {"matmul": matmul, "step_kernel": step_kernel} if impl == "fused" else {}
        self.lstm = make_lstm(impl, embedding_dim, hidden_size, num_layers=num_layers, dropout=dropout,
                              init_scale=init_scale, forget_bias=forget_bias, weight_dropout=weight_dropout,
                              locked_dropout=locked_dropout, **backend)
        gemm.chosen(matmul)  # an unknown route is refused here
        self.matmul = matmul  # the output layer's fp32 matmuls take the same route
        self.p_embedding, self.p_input, self.p_output = embedding_dropout, input_dropout, dropout
        self.locked_dropout = locked_dropout
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def features(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> LSTM outputs after dropout (B, T, H) and the final state."""
        x = embedding_dropout(self.embedding.weight, ids, self.p_embedding, self.training)  # (B, T, E)
        x = sequence_dropout(self.activation(x), self.p_input, self.training, self.locked_dropout)
        out, state = self.lstm(x, state)  # (B, T, H), (L, B, H) x2
        return sequence_dropout(out, self.p_output, self.training, self.locked_dropout), state

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> logits (B, T, V) and the final state (feed it back to continue a sequence)."""
        out, state = self.features(ids, state)
        return self.head(out), state  # (B, T, V)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor, ignore_id: int, return_logits: bool = False):
        """Mean next-character cross-entropy over the targets that are not `ignore_id` (<pad>)
        -> (loss, logits (N, V) or None, target ids (N,)).

        The output layer is most of a step, so it runs only where there is a target; without
        `return_logits` it is fused with the loss (models/linear_ce.py: no (N, V) logits kept), else the
        fp32 logits are returned for metrics that need them."""
        hidden, _ = self.features(inputs)  # (B, T, H)
        keep = targets != ignore_id  # (B, T)
        target_ids = targets[keep]  # (N,)
        if not return_logits:
            loss = linear_cross_entropy(hidden[keep], self.head.weight, self.head.bias, target_ids, self.matmul)
            return loss, None, target_ids
        # (N, V): fp32 for the softmax after a bf16 matmul; padded rows keep the matmul shapes few (linear_ce.py)
        logits = self.head(pad_rows(hidden[keep]))[: len(target_ids)].float()
        return F.cross_entropy(logits, target_ids), logits, target_ids

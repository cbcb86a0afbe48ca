"""The LSTM language models: embedding -> (activation) -> LSTM -> dropout -> linear over the vocabulary.

Three networks of one shape, each its own class (configs/model/): `LSTMLM` (the LSTM from its equations,
autograd's backward: the default), `FusedLSTMLM` (the same parameters, the hand-derived BPTT,
fused_lstm.py) and `TorchLSTMLM` (`nn.LSTM`, the reference for parity tests and benchmarks).

Regularisation as in AWD-LSTM (models/dropout.py), all off by default and at evaluation: embedding
dropout (whole characters), dropout on the LSTM input and output (locked across time steps with
`locked_dropout`), DropConnect on the recurrent weights (`weight_dropout`)."""

import torch
from torch import nn

from lit_poetry.errors import LitPoetryError
from lit_poetry.models import gemm
from lit_poetry.models.base import LanguageModel, State
from lit_poetry.models.dropout import embedding_dropout, sequence_dropout
from lit_poetry.models.lstm import LSTM, FusedLSTM, TorchLSTM

ACTIVATIONS = {None: nn.Identity, "none": nn.Identity, "tanh": nn.Tanh, "relu": nn.ReLU}


class LSTMLM(LanguageModel):
    layers = LSTM  # the recurrent part; the subclasses swap it

    def __init__(self, vocab_size: int, embedding_dim: int = 256, hidden_size: int = 512, num_layers: int = 1,
                 dropout: float = 0.0, embedding_activation: str | None = None, tie_weights: bool = False,
                 init_scale: float | None = None, forget_bias: float = 0.0, embedding_std: float = 0.1,
                 embedding_dropout: float = 0.0, input_dropout: float = 0.0, weight_dropout: float = 0.0,
                 locked_dropout: bool = False, matmul: str = "auto", **backend):
        super().__init__()
        if embedding_activation not in ACTIVATIONS:
            raise LitPoetryError(f"embedding_activation='{embedding_activation}' is not one of none, tanh, relu")
        if tie_weights and embedding_dim != hidden_size:
            raise LitPoetryError(
                f"tie_weights needs embedding_dim == hidden_size (got {embedding_dim} and {hidden_size})")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=embedding_std)  # report 000: N(0, 0.1)
        self.activation = ACTIVATIONS[embedding_activation]()
        self.lstm = self.layers(embedding_dim, hidden_size, num_layers=num_layers, dropout=dropout,
                                init_scale=init_scale, forget_bias=forget_bias, weight_dropout=weight_dropout,
                                locked_dropout=locked_dropout, **self.backend(matmul, **backend))
        gemm.chosen(matmul)  # an unknown route is refused here
        self.matmul = matmul  # the output layer's fp32 matmuls take this route
        self.p_embedding, self.p_input, self.p_output = embedding_dropout, input_dropout, dropout
        self.locked_dropout = locked_dropout
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def features(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> LSTM outputs after dropout (B, T, H) and the final (h, c), each (L, B, H)."""
        x = embedding_dropout(self.embedding.weight, ids, self.p_embedding, self.training)  # (B, T, E)
        x = sequence_dropout(self.activation(x), self.p_input, self.training, self.locked_dropout)
        out, state = self.lstm(x, state)  # (B, T, H), (L, B, H) x2
        return sequence_dropout(out, self.p_output, self.training, self.locked_dropout), state

    def backend(self, matmul: str, **options) -> dict:
        """The LSTM layers' own settings: none for autograd's and nn.LSTM (an option here is refused)."""
        return options

    def quantize_dim(self, name: str) -> int:
        """Our LSTM keeps (input, 4H) weights: its output units are columns."""
        return 1 if ".weight_x." in name or ".weight_h." in name else 0


class FusedLSTMLM(LSTMLM):
    """`matmul` also routes the LSTM's matmuls (gemm.py); `step_kernel`: the C kernel for each step's
    elementwise work where it builds (cell_kernel.py), else torch ops."""

    layers = FusedLSTM

    def backend(self, matmul: str, step_kernel: bool = True) -> dict:
        return {"matmul": matmul, "step_kernel": step_kernel}


class TorchLSTMLM(LSTMLM):
    """`nn.LSTM` inside: no DropConnect, no locked dropout between layers."""

    layers = TorchLSTM

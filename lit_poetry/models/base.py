"""The protocol every network of lit-poetry follows: `LanguageModel`.

A network reads character ids and gives next-character logits and a state to continue from:

    logits, state = net(ids)            # ids (B, T) -> logits (B, T, V); state: whatever the network keeps
    logits, state = net(next_ids, state)
    state = net.take_rows(state, index)            # row r continues from row index[r] (the search)
    state = net.keep_rows(frozen, old, new)        # frozen rows keep `old` (they waited a step)

Its embedding (V, E) and output layer `head` (H -> V) are the parts training, the fused loss and the
export share: `loss` runs the output layer only where there is a target, fused with the cross-entropy,
and the export asks `quantize_dim` which axis of each weight holds the output units. A network is built
from its config (`_target_` and keyword arguments, models/build.py), so a new one is one module and one
YAML under configs/model/.
"""

import torch
from torch import nn
from torch.nn import functional as F

from lit_poetry.models.linear_ce import linear_cross_entropy, pad_rows

State = tuple[torch.Tensor, ...]  # a network's own: (h, c) for the LSTMs, a key/value cache for attention


class LanguageModel(nn.Module):
    """A character language model: `features` is the network's own; the rest is shared."""

    embedding: nn.Embedding
    head: nn.Linear
    matmul: str = "auto"  # the route of the output layer's fp32 matmuls (gemm.py)

    def features(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> the output layer's input (B, T, H) and the state after the last position."""
        raise NotImplementedError

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

    def parameter_groups(self) -> list[dict]:
        """The optimizer's parameter groups: by default one, every parameter decayed as the optimizer's config
        says (the LSTM recipes were tuned so, as AWD-LSTM decays all). A network that keeps some parameters
        out of the weight decay returns a group for them with `weight_decay: 0`."""
        return [{"params": list(self.parameters())}]

    def take_rows(self, state: State, index: torch.Tensor) -> State:
        """The state with row r taken from row index[r]; state tensors are (L, B, ...) by default."""
        return tuple(s.index_select(1, index) for s in state)

    def keep_rows(self, frozen: torch.Tensor, old: State, new: State) -> State:
        """`new`, with the rows where `frozen` (B,) is true as they were in `old` (a step they skipped)."""
        return tuple(torch.where(frozen.view(1, -1, *[1] * (o.dim() - 2)), o, n) for o, n in zip(old, new))

    def quantize_dim(self, name: str) -> int:
        """The axis of the 2-D weight `name` that holds output units: rows of nn.Linear's (out, in) and of
        the embedding (V, E); a network that stores weights the other way round says so."""
        return 0

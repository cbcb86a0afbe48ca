"""The dropouts of AWD-LSTM (Merity et al. 2017), each a no-op outside training.

- locked (variational) dropout: one mask per sequence and feature, shared by every time step, so a unit
  dropped at step t is dropped for the whole poem and the recurrence cannot route around it;
- embedding dropout: whole rows of the embedding matrix (every occurrence of a character) dropped;
- DropConnect on W_h lives in lstm.py: a fresh mask on the recurrent weight once per batch.
All scale what they keep by 1 / (1 - p), so nothing changes at evaluation.
"""

import torch
from torch.nn import functional as F


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """x (B, T, D) -> x with one (B, 1, D) mask for all T steps."""
    if not training or p == 0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)  # (B, 1, D)
    return x * mask


def sequence_dropout(x: torch.Tensor, p: float, training: bool, locked: bool) -> torch.Tensor:
    """Locked dropout if `locked`, else the usual one mask entry per element."""
    return locked_dropout(x, p, training) if locked else F.dropout(x, p, training)


def embedding_dropout(weight: torch.Tensor, ids: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Embedding lookup of ids (B, T) in weight (V, E) with whole rows dropped -> (B, T, E)."""
    if not training or p == 0:
        return F.embedding(ids, weight)
    keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)  # (V, 1): one draw per character
    return F.embedding(ids, weight * keep)

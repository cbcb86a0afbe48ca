"""Encoded sequences stored flat, and padded (inputs, targets) batches of them.

Plain torch, no Lightning: the DataModule, the evaluation and the NumPy twin share it.
"""

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class EncodedSplit:
    """Variable-length id sequences stored flat: sequence i is ids[offsets[i]:offsets[i+1]]."""

    ids: torch.Tensor  # (N_tokens,) int32, each sequence is <bos> chars [<eos>]
    offsets: torch.Tensor  # (N_seq + 1,) int64
    poem_index: torch.Tensor  # (N_seq,) int64: which kept poem a sequence came from

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> list[int]:
        return self.offsets.diff().tolist()

    @classmethod
    def from_sequences(cls, seqs: list[list[int]], poem_index: list[int]) -> "EncodedSplit":
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
        return cls(torch.from_numpy(flat), torch.from_numpy(offsets), torch.tensor(poem_index, dtype=torch.int64))


class PadCollate:
    """Pad a list of id sequences to the batch's longest and shift by one: inputs predict targets.

    With `title_ids` (the vocabulary's 《 》 ids), a sequence that opens `<bos>《…》` has the title's targets
    padded: the model reads its title and is scored on the poem only. Plain torch, no Lightning: the
    DataModule, the evaluation and the NumPy twin share it."""

    def __init__(self, pad_id: int, title_ids: tuple[int, int] | None = None):
        self.pad_id, self.title_ids = pad_id, title_ids

    def __call__(self, seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        T = max(len(s) for s in seqs) - 1
        batch = torch.full((len(seqs), T + 1), self.pad_id, dtype=torch.long)  # (B, T+1)
        for row, s in zip(batch, seqs):
            row[: len(s)] = s
        inputs, targets = batch[:, :-1], batch[:, 1:].clone()  # (B, T) inputs, (B, T) targets (<pad>: none)
        if self.title_ids is not None:
            opening, closing = self.title_ids
            for row, s in zip(targets, seqs):
                if len(s) > 1 and s[1] == opening:
                    closes = (s == closing).nonzero()
                    row[: int(closes[0]) if len(closes) else len(s)] = self.pad_id  # 《 … 》: read, not scored
        return inputs, targets


def padded_batches(split: EncodedSplit, batch_size: int, pad_id: int, order=None,
                   title_ids: tuple[int, int] | None = None):
    """(inputs, targets) batches of `split` taken in `order` (default: as stored); the last may be short."""
    collate = PadCollate(pad_id, title_ids)
    order = range(len(split)) if order is None else order
    for start in range(0, len(order), batch_size):
        yield collate([split[int(i)] for i in order[start : start + batch_size]])

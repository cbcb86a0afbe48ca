"""Which poems go into which batch, per epoch and per rank.

`RankShare` gives each DDP rank a disjoint share of a split (shuffled per epoch for training);
`LengthBuckets` cuts a share into batches, optionally sorting windows of it by length so that a batch
holds poems of similar length and carries little padding (the batches' order is shuffled again, so a
training epoch does not run from short poems to long ones).

The DataModule shards by rank itself, so the Trainer runs with `use_distributed_sampler: false`;
Lightning calls `RankShare.set_epoch` at each epoch start (it looks for `batch_sampler.sampler`).
A mid-epoch resume starts `LengthBuckets` at the batch after the last one trained (`skip`), in the
epoch's own order: the DataModule keeps that position in every checkpoint.
"""

from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import Sampler


class RankShare(Sampler[int]):
    """Indices of `num_items` owned by `rank` of `world_size`.

    shuffle=True (training): one permutation per (seed, epoch), the same on every rank, cut into equal
    shares; the at most world_size - 1 indices past the last full round are left out of that epoch (a
    different few each epoch), so every rank takes the same number of steps. shuffle=False
    (validation, test): index order, rank r takes r, r + world, ...; every item is seen exactly once."""

    def __init__(self, num_items: int, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.num_items, self.shuffle, self.seed = num_items, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def generator(self, salt: int = 0) -> torch.Generator:
        """A generator seeded by (seed, epoch, salt): reproducible, and new each epoch."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 7_919 + salt)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = torch.randperm(self.num_items, generator=self.generator()).tolist()
            order = order[: len(self) * self.world_size]
        else:
            order = list(range(self.num_items))
        return iter(order[self.rank :: self.world_size])

    def __len__(self) -> int:
        if self.shuffle:
            return self.num_items // self.world_size
        return len(range(self.rank, self.num_items, self.world_size))


class LengthBuckets(Sampler[list[int]]):
    """Batches of `batch_size` indices from `sampler`, in the order it yields them.

    window > 1: each run of window * batch_size indices is sorted by `lengths` before it is cut, and the
    resulting batches are shuffled (when the sampler shuffles): poems of similar length share a batch,
    and still no two epochs see the same batches. window <= 1: plain consecutive batches."""

    def __init__(self, sampler: RankShare, lengths: Sequence[int], batch_size: int, window: int = 0,
                 on_epoch: Callable[[int], None] | None = None):
        self.sampler, self.lengths = sampler, lengths
        self.batch_size, self.window = batch_size, window
        self.skip = 0  # batches of the next epoch already trained on (a mid-epoch resume), left out once
        self.on_epoch = on_epoch  # told, as an epoch's batches begin, how many of them are left out

    def __iter__(self) -> Iterator[list[int]]:
        skip, self.skip = self.skip, 0
        if self.on_epoch is not None:
            self.on_epoch(skip)
        yield from self.batches()[skip:]

    def batches(self) -> list[list[int]]:
        """This epoch's batches, in order."""
        order = list(self.sampler)
        if self.window <= 1:
            return [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        span = self.window * self.batch_size
        batches = []
        for w in range(0, len(order), span):
            window = sorted(order[w : w + span], key=self.lengths.__getitem__)
            batches += [window[s : s + self.batch_size] for s in range(0, len(window), self.batch_size)]
        if self.sampler.shuffle:
            permutation = torch.randperm(len(batches), generator=self.sampler.generator(salt=1)).tolist()
            batches = [batches[i] for i in permutation]
        return batches

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)

"""Learning-rate schedules that know the run's length: in steps and, with `trainer.max_time`, in time.

`WarmupCosine` (`scheduler=cosine`) is one warm-up + cosine cycle, shaped as torch's OneCycleLR (cosine
warm-up from lr / 25 to lr, cosine down to lr / 2.5e5), with two differences that make a recipe hold on
any machine:

- the warm-up is a whole number of steps, at least one, however short the run;
- with a time budget, the cosine follows the larger of the share of steps done and the share of the
  budget spent, so a run that the budget will cut (a slow laptop) still reaches the end of its cosine,
  and its lowest learning rate, before the guard stops it. Where the steps end first, nothing changes.
"""

import math
import time
from datetime import timedelta

import torch

from lit_poetry.errors import LitPoetryError


def duration_seconds(value) -> float | None:
    """`trainer.max_time` as seconds: "DD:HH:MM:SS", a dict of timedelta fields ({hours: 1}), or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return timedelta(**value).total_seconds()
    parts = str(value).split(":")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise LitPoetryError(f"trainer.max_time={value} is not a duration; give DD:HH:MM:SS "
                             "(trainer.max_time=00:01:12:00 stops after 72 minutes) or leave it unset")
    days, hours, minutes, seconds = map(int, parts)
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()


def _cosine(start: float, end: float, share: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * min(max(share, 0.0), 1.0))) / 2


class WarmupCosine(torch.optim.lr_scheduler.LRScheduler):
    """lr: the optimizer's learning rate, reached after `warmup` (a share of `total_steps`, whole steps,
    at least 1); `time_budget`: seconds, or a `trainer.max_time` value, or None."""

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup: float = 0.05,
                 time_budget=None, start_div: float = 25.0, final_div: float = 2.5e5):
        if not math.isfinite(total_steps) or total_steps < 2:
            raise LitPoetryError(f"scheduler=cosine needs a run of at least 2 steps with a known end, not "
                                 f"{total_steps}: set trainer.max_epochs (or max_steps), train longer, or use "
                                 "scheduler=none")
        if not 0 <= warmup < 1:
            raise LitPoetryError(f"scheduler.warmup={warmup} is the share of steps that warm up: give a value "
                                 "in [0, 1)")
        self.total_steps = int(total_steps)
        self.warmup_steps = min(max(1, round(warmup * self.total_steps)), self.total_steps - 1)
        self.budget = time_budget if isinstance(time_budget, int | float) else duration_seconds(time_budget)
        self.start_div, self.final_div = start_div, final_div
        self.elapsed, self.warmup_end_elapsed = 0.0, None  # seconds of training so far (kept in checkpoints)
        self._last_time = None
        super().__init__(optimizer)

    def share_done(self) -> float:
        """How far the cosine part has come, in [0, 1]: by steps, or by the time budget where that is ahead."""
        steps = (self.last_epoch - self.warmup_steps) / max(self.total_steps - 1 - self.warmup_steps, 1)
        if self.budget is None or self.warmup_end_elapsed is None:
            return min(max(steps, 0.0), 1.0)
        spent = (self.elapsed - self.warmup_end_elapsed) / max(self.budget - self.warmup_end_elapsed, 1e-9)
        return min(max(steps, spent, 0.0), 1.0)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._last_time is not None:
            self.elapsed += now - self._last_time
        self._last_time = now
        if self.last_epoch >= self.warmup_steps and self.warmup_end_elapsed is None:
            self.warmup_end_elapsed = self.elapsed

    def get_lr(self) -> list[float]:
        self._tick()
        lrs = []
        for peak in self.base_lrs:
            start, end = peak / self.start_div, peak / self.final_div
            if self.last_epoch < self.warmup_steps:
                lrs.append(_cosine(start, peak, self.last_epoch / self.warmup_steps))
            else:
                lrs.append(_cosine(peak, end, self.share_done()))
        return lrs

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._last_time = None  # the time between the checkpoint and the resume is not training

"""The numeric settings a user can type, checked in one place before any work starts: a value out of its
range is one `error:` line naming the key, the value and the range (not a traceback from torch later).

    check_settings(cfg)   # train.py, generate.py, evaluate and the page call it on their composed config
"""

import math
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from lit_poetry.errors import LitPoetryError


@dataclass(frozen=True)
class Range:
    low: float | None = None  # None: unbounded
    high: float | None = None
    low_open: bool = False  # True: low itself is refused
    high_open: bool = False
    integer: bool = False
    nullable: bool = False

    def holds(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        if self.integer and not isinstance(value, int):  # 256, not 256.0: torch takes sizes as ints
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def __str__(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"{kind} in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            text = f"{kind} {'>' if self.low_open else '≥'} {self.low:g}"
        else:
            text = kind
        return text + (", or null" if self.nullable else "")


MAX_POEMS = 200  # one command's poems (start words x num_samples); the page caps a request at max_poems
MAX_FREE_LEN = 512  # characters of a free-form poem (training poems have at most 64)
POSITIVE_INT, COUNT = Range(1, integer=True), Range(0, integer=True)
DROPOUT, SHARE = Range(0, 1, high_open=True), Range(0, 1, low_open=True, high_open=True)
RATE, NON_NEGATIVE = Range(0, low_open=True), Range(0)

RANGES: dict[str, Range] = {
    "model.embedding_dim": POSITIVE_INT, "model.hidden_size": POSITIVE_INT, "model.num_layers": POSITIVE_INT,
    "model.dropout": DROPOUT, "model.input_dropout": DROPOUT, "model.embedding_dropout": DROPOUT,
    "model.weight_dropout": DROPOUT, "model.init_scale": Range(0, low_open=True, nullable=True),
    "model.num_heads": POSITIVE_INT, "model.ffn_size": POSITIVE_INT, "model.embedding_std": RATE,
    "model.rope_base": Range(1, low_open=True),
    "optimizer.lr": RATE, "optimizer.weight_decay": NON_NEGATIVE, "optimizer.momentum": Range(0, 1, high_open=True),
    "scheduler.warmup": DROPOUT, "scheduler.factor": SHARE, "scheduler.patience": COUNT,
    "data.batch_size": POSITIVE_INT, "data.num_workers": COUNT, "data.bucket_window": COUNT,
    "data.min_len": POSITIVE_INT, "data.max_len": Range(2, integer=True), "data.min_freq": POSITIVE_INT,
    "data.seq_len": Range(2, integer=True, nullable=True), "data.seq_step": Range(1, integer=True, nullable=True),
    "data.val_fraction": SHARE, "data.test_fraction": DROPOUT,
    "trainer.max_epochs": Range(-1, integer=True), "trainer.devices": Range(1, integer=True),
    "trainer.num_nodes": POSITIVE_INT, "trainer.gradient_clip_val": Range(0, nullable=True),
    "trainer.check_val_every_n_epoch": Range(1, integer=True, nullable=True),  # None: val_check_interval in steps
    "trainer.log_every_n_steps": POSITIVE_INT,
    "trainer.limit_train_batches": Range(0, low_open=True, nullable=True),
    "trainer.limit_val_batches": Range(0, nullable=True),
    "candidates": Range(1, 64, integer=True), "temperature": NON_NEGATIVE, "top_k": COUNT, "guidance": NON_NEGATIVE,
    "top_p": Range(0, 1, low_open=True), "num_samples": Range(1, MAX_POEMS, integer=True),
    "max_len": Range(1, MAX_FREE_LEN, integer=True), "batch_size": POSITIVE_INT, "max_poems": POSITIVE_INT,
    "port": Range(1, 65535, integer=True), "quality.num_samples": COUNT, "quality.temperature": NON_NEGATIVE,
    "quality.candidates": Range(1, 64, integer=True),
    "quality.max_len": POSITIVE_INT,
}


def check_settings(cfg: DictConfig) -> None:
    """Refuse, in one line, the first setting of `cfg` outside its range (keys the config lacks are skipped)."""
    for key, allowed in RANGES.items():
        value = OmegaConf.select(cfg, key, default="<absent>")
        if value == "<absent>" or (value is None and allowed.nullable):
            continue
        if key == "trainer.devices" and value in ("auto", -1):  # Lightning's "every device"
            continue
        if key.startswith("trainer.limit_") and isinstance(value, float) and value > 1:
            allowed = Range(1, integer=True)  # above 1: a number of batches
        if not allowed.holds(value):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            fraction = number and allowed.integer and isinstance(value, float) and math.isfinite(value)
            what = "is not a whole number" if fraction else "is out of range" if number else "is not a number"
            raise LitPoetryError(f"{key}={value} {what}: give {allowed}")

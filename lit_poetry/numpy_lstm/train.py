"""What the NumPy training loop (`python -m lit_poetry numpy-train`, lit_poetry/commands/numpy_train.py)
needs besides the model: shuffled padded batches as NumPy arrays, the split's mean NLL, and the optimizer's
settings. Optimizer settings (lr, betas, alpha, eps, momentum) are read from configs/optimizer/<name>.yaml, the
same files the Lightning training uses; batches come from the package's data pipeline.
"""

from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from lit_poetry.data.batching import padded_batches
from lit_poetry.numpy_lstm.model import NumpyLSTMLM
from lit_poetry.resources import CONFIG_DIR


def optimizer_settings(name: str, lr: float | None = None) -> dict:
    """configs/optimizer/<name>.yaml without Hydra's keys, as keyword arguments of the NumPy optimizer."""
    cfg = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / "optimizer" / f"{name}.yaml"))
    settings = {k: v for k, v in cfg.items() if not k.startswith("_") and k != "weight_decay"}
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    return {**settings, **({"lr": lr} if lr is not None else {})}


def batches(split, batch_size: int, pad_id: int, rng: np.random.Generator):
    """Endless shuffled, padded (inputs, targets) batches as NumPy arrays."""
    while True:
        for inputs, targets in padded_batches(split, batch_size, pad_id, rng.permutation(len(split))):
            yield inputs.numpy(), targets.numpy()


def evaluate(model: NumpyLSTMLM, split, pad_id: int, batch_size: int = 64) -> float:
    """Mean token NLL over a whole split (weighted by tokens per batch)."""
    total, count = 0.0, 0
    for inputs, targets in padded_batches(split, batch_size, pad_id):
        n = int((targets != pad_id).sum())
        total += model.loss_and_grads(inputs.numpy(), targets.numpy(), need_grads=False)[0] * n
        count += n
    return total / count

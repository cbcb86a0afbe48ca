"""What the NumPy training loop (`python -m lit_poetry numpy-train`, lit_poetry/commands/numpy_train.py)
needs besides the model: shuffled padded batches as NumPy arrays, the split's mean NLL, and the optimizer's
settings. Optimizer settings (lr, betas, alpha, eps, momentum) are read from configs/optimizer/<name>.yaml, the
same files the Lightning training uses; batches come from the package's data pipeline.
"""

import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from lit_poetry.data.batching import padded_batches
from lit_poetry.numpy_lstm.model import NumpyLSTMLM
from lit_poetry.numpy_lstm.optim import OPTIMIZERS
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


def fit(corpus, optimizer: str, lr: float | None, steps: int, batch: int, embed: int, hidden: int, clip: float,
        log_every: int, seed: int) -> list[float]:
    """Train a NumpyLSTMLM on a processed corpus with a NumPy optimizer (gradient-norm clip, 0: off),
    printing the loss every `log_every` steps and the val perplexity at the end; the loss of each step."""
    vocab = corpus.vocab
    model = NumpyLSTMLM(len(vocab), embed, hidden, pad_id=vocab.pad_id, dtype=np.float32, seed=seed)
    settings = optimizer_settings(optimizer, lr)
    opt = OPTIMIZERS[optimizer](model.params, **settings)
    print(f"{optimizer} {settings}; vocabulary {len(vocab)}, {len(corpus.splits['train'])} train sequences")

    stream = batches(corpus.splits["train"], batch, vocab.pad_id, np.random.default_rng(seed))
    losses, t0 = [], time.perf_counter()
    for step in range(1, steps + 1):
        loss, grads = model.loss_and_grads(*next(stream))
        if clip:
            norm = np.sqrt(sum(float((g * g).sum()) for g in grads.values()))
            if norm > clip:
                grads = {k: g * (clip / norm) for k, g in grads.items()}
        opt.step(grads)
        losses.append(loss)
        if step % log_every == 0 or step == steps:
            recent = np.mean(losses[-log_every :])
            print(f"step {step:5d}  train loss {recent:.3f}  ({time.perf_counter() - t0:.1f}s)", flush=True)
    val = evaluate(model, corpus.splits["val"], vocab.pad_id)
    print(f"val loss {val:.3f}  val ppl {np.exp(val):.1f}")
    return losses

"""`python train.py ...` (installed: `lit-poetry-train`, or `python -m lit_poetry train ...`): train the
LSTM language model with Lightning (lit_poetry/training.py). The run commands are in train.py's docstring."""

import math

from omegaconf import DictConfig

from lit_poetry.cli import hydra_command
from lit_poetry.settings import check_settings


@hydra_command("train")
def main(cfg: DictConfig) -> float | None:
    check_settings(cfg)  # a value out of range is refused before Lightning's seconds-long import
    from lit_poetry.training import train as fit

    best = fit(cfg).get("val/ppl_best")  # the value a Hydra sweeper minimises
    return best if best is None or math.isfinite(best) else math.inf  # sweepers refuse NaN

"""Train the Tang-poetry LSTM language model.

    python train.py                                     # small corpus, a few minutes on a CPU
    python train.py data=tang optimizer=rmsprop         # 全唐诗 with RMSprop
    python train.py model.impl=fused trainer.precision=bf16-mixed
    python train.py data=tang trainer=ddp trainer.devices=4
    python train.py -m experiment=optimizer_comparison optimizer=adam,rmsprop,adagrad,sgd,momentum
    python train.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt   # resume

Every key in configs/ can be overridden on the command line (Hydra).
"""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from lit_poetry.cli import quote_unicode_overrides
from lit_poetry.errors import LitPoetryError, exit_with_error


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from lit_poetry.training import train  # after Hydra has parsed the command line: `--help` stays fast

    try:
        metrics = train(cfg)
    except LitPoetryError as e:
        if HydraConfig.get().mode == RunMode.MULTIRUN:  # one diverged run must not end the sweep
            print(f"error: {e}", file=sys.stderr)
            Path(HydraConfig.get().runtime.output_dir, "error.txt").write_text(f"{e}\n", encoding="utf-8")
            return float("nan")
        exit_with_error(e)
    return metrics.get("val/ppl_best")  # the value a Hydra sweeper would minimise


if __name__ == "__main__":
    quote_unicode_overrides()
    main()

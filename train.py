"""Train the Tang-poetry LSTM language model.

    python train.py                                     # small corpus, a few minutes on a CPU
    python train.py data=tang optimizer=rmsprop         # 全唐诗 with RMSprop
    python train.py model.impl=fused trainer.precision=bf16-mixed
    python train.py data=tang trainer=ddp trainer.devices=4
    python train.py -m experiment=optimizer_comparison optimizer=adam,rmsprop,adagrad,sgd,momentum
    python train.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt   # resume

Every key in configs/ can be overridden on the command line (Hydra).
"""

import hydra
from omegaconf import DictConfig

from lit_poetry.cli import quote_unicode_overrides
from lit_poetry.errors import LitPoetryError, exit_with_error


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from lit_poetry.training import train  # after Hydra has parsed the command line: `--help` stays fast

    try:
        metrics = train(cfg)
    except LitPoetryError as e:
        exit_with_error(e)
    return metrics.get("val/ppl_best")  # the value a Hydra sweeper would minimise


if __name__ == "__main__":
    quote_unicode_overrides()
    main()

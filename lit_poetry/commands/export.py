"""A trained checkpoint as a small file to ship and generate from (lit_poetry/export.py).

    python -m lit_poetry export ckpt_path=logs/tang_best/checkpoints/best.ckpt out=tang.pt \\
        card.name=tang-768 card.command="python train.py experiment=tang_best" card.val_ppl=79.9

Settings: configs/export.yaml. Installed, the same command is `lit-poetry-export`.
"""

from omegaconf import DictConfig

from lit_poetry.cli import hydra_command
from lit_poetry.errors import LitPoetryError


@hydra_command("export")
def main(cfg: DictConfig) -> None:
    if not cfg.ckpt_path or not cfg.out:
        raise LitPoetryError("give both: python -m lit_poetry export ckpt_path=<run>/checkpoints/best.ckpt "
                             "out=model.pt")
    from lit_poetry.export import export

    card = {k: (float(v) if k == "val_ppl" and v is not None else v) for k, v in cfg.card.items()}
    export(cfg.ckpt_path, cfg.out, card)
    print(f"wrote {cfg.out}")

"""The W&B logger of configs/logger/wandb.yaml: Lightning's, less the `anonymous=None` it always hands to
`wandb.init`, which W&B answers on every run with "The anonymous setting has no effect"."""

from lightning.pytorch.loggers import wandb


class WandbLogger(wandb.WandbLogger):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self._wandb_init.get("anonymous") is None:  # never asked for: leave W&B's own default
            self._wandb_init.pop("anonymous", None)

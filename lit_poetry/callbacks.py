"""Callbacks of the project's own (configs/callbacks/): sample poems after each validation epoch."""

from lightning.pytorch import Callback, LightningModule, Trainer

from lit_poetry.generation import REPORT_STARTS, sample


class SamplePoems(Callback):
    """Rank 0 writes one poem per start word after each validation epoch: printed, and logged as a table
    row per poem by loggers that take text (W&B). The seed is the epoch, so runs compare poem for poem."""

    def __init__(self, starts: str = REPORT_STARTS, temperature: float = 0.8, max_len: int = 48):
        self.starts, self.temperature, self.max_len = starts or "", temperature, max_len

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not self.starts:
            return
        epoch = trainer.current_epoch
        poems = sample(pl_module.net, pl_module.vocab, list(self.starts), temperature=self.temperature,
                       max_len=self.max_len, seed=epoch)
        print(f"\nsamples after epoch {epoch}:\n" + "\n".join(f"  {p['start']}: {p['poem']}" for p in poems))
        for logger in trainer.loggers:
            if hasattr(logger, "log_text"):
                logger.log_text("samples", columns=["epoch", "start", "poem"],
                                data=[[epoch, p["start"], p["poem"]] for p in poems])

"""Callbacks of the project's own: sample poems after each validation epoch (configs/callbacks/), and
ValidatedEnd, the `trainer.max_time` guard that validates before it stops (training.py puts it in place)."""

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import Timer

from lit_poetry.generation import REPORT_STARTS, guidance_for, notes_of, sample
from lit_poetry.text import title_header


class SamplePoems(Callback):
    """Rank 0 writes one poem per start word after each validation epoch (with generate.py's defaults: a
    drawn title, where the model reads titles), and one per title of `titles` where it does: printed, and
    logged as a table row per poem by loggers that take text (W&B). The seed is the epoch, so runs compare
    poem for poem."""

    def __init__(self, starts: str = REPORT_STARTS, temperature: float = 0.7, max_len: int = 48,
                 titles: tuple[str, ...] = ()):
        self.starts, self.temperature, self.max_len = starts or "", temperature, max_len
        self.titles = list(titles or ())

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not self.starts:
            return
        epoch, guidance = trainer.current_epoch, guidance_for(pl_module.hparams.get("data"))
        poems = sample(pl_module.net, pl_module.vocab, list(self.starts), temperature=self.temperature,
                       max_len=self.max_len, seed=epoch, guidance=guidance)
        rows = [(p.start + (title_header(p.title) if p.title else ""), p) for p in poems]  # 日《春日》: a drawn title
        if pl_module.vocab.title_ids is not None:
            rows += [(title_header(t), sample(pl_module.net, pl_module.vocab, temperature=self.temperature,
                                       max_len=self.max_len, seed=epoch, title=t, guidance=guidance)[0])
                     for t in self.titles]
        print(f"\nsamples after epoch {epoch}:\n" + "\n".join(
            [f"  {head}: {p.poem}" for head, p in rows] + [f"  {note}" for note in notes_of(poems)]))
        for logger in trainer.loggers:
            if hasattr(logger, "log_text"):
                logger.log_text("samples", columns=["epoch", "start", "poem"],
                                data=[[epoch, head, p.poem] for head, p in rows])


class ValidatedEnd(Timer):
    """`Trainer(max_time=...)` (None: no limit) that never ends a run on an epoch it did not validate. With
    `check_val_every_n_epoch` > 1, Lightning skips validation on an epoch the time limit cuts short and
    on a last epoch off the interval, so the end of the schedule would never be scored. This turns
    validation on for the last epoch, and for the current one once the time is up."""

    @staticmethod
    def _validate_this_epoch(trainer: Trainer) -> None:
        trainer.check_val_every_n_epoch = 1  # read by the fit loop at the end of every batch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.max_epochs is not None and trainer.current_epoch == trainer.max_epochs - 1:
            self._validate_this_epoch(trainer)

    def on_train_batch_end(self, trainer: Trainer, *args, **kwargs) -> None:
        super().on_train_batch_end(trainer, *args, **kwargs)  # sets trainer.should_stop, the same on every rank
        if trainer.should_stop:
            self._validate_this_epoch(trainer)

"""PoetryLitModule: a network built from config (models/build.py) + its masked loss + torchmetrics perplexity
+ optimizer and schedule from config.

Sample poems at validation are a callback (callbacks.py), not part of the module."""

import time

import hydra
import lightning as L
import torch
from torchmetrics import MinMetric
from torchmetrics.text import Perplexity

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import DivergedError
from lit_poetry.hardware import peak_memory_mb, reset_peak_memory
from lit_poetry.models.build import build_network


class PoetryLitModule(L.LightningModule):
    """`vocab` is `Vocabulary.to_dict()`, `model` the network's config (`_target_` and its keyword arguments,
    configs/model/), `optimizer` / `scheduler`
    Hydra configs with `_partial_: true`, `data` the processing settings the vocabulary came from: all
    plain containers, so a checkpoint is self-contained."""

    def __init__(self, vocab: dict, model: dict, optimizer: dict, scheduler: dict | None = None,
                 data: dict | None = None, **legacy):
        super().__init__()
        # checkpoints of earlier versions also hold sample_* settings (now the SamplePoems callback's)
        self.save_hyperparameters(ignore=list(legacy), logger=False)
        self.vocab = Vocabulary.from_dict(vocab)
        self.net = build_network(model, len(self.vocab))
        pad = self.vocab.pad_id
        # training perplexity = exp(token-weighted mean NLL), from the loss the step computes anyway
        # (torchmetrics' Perplexity would run a second softmax over (N, V) logits each step): the epoch's
        # sum of loss x tokens and its tokens, this process's, kept in checkpoints (on_save_checkpoint)
        self._nll_sum, self._nll_tokens = torch.zeros((), dtype=torch.float64), 0
        self.val_ppl, self.test_ppl = Perplexity(ignore_index=pad), Perplexity(ignore_index=pad)
        self.val_ppl_best = MinMetric()

    def forward(self, ids: torch.Tensor, state=None):
        return self.net(ids, state)

    def setup(self, stage: str) -> None:
        # under ddp_spawn metric states start shared between ranks; a reset gives each rank its own
        self.val_ppl_best.reset()
        for metric in (self.val_ppl, self.test_ppl):
            metric.reset()

    def _shared_step(self, batch, stage: str) -> torch.Tensor:
        inputs, targets = batch  # (B, T) each
        training = stage == "train"
        loss, logits, target_ids = self.net.loss(inputs, targets, self.vocab.pad_id, return_logits=not training)
        if not torch.isfinite(loss):
            raise DivergedError(f"{stage} loss is {loss.item()} at step {self.global_step}; lower the learning "
                                 "rate or set trainer.gradient_clip_val (checkpoints written so far are kept)")
        if training:  # the epoch's mean is logged by on_train_epoch_end: it survives a mid-epoch resume
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True)
            self._nll_sum = self._nll_sum.to(loss.device) + loss.detach().double() * len(target_ids)
            self._nll_tokens += len(target_ids)
            self._epoch_tokens += len(target_ids)
        else:
            self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(target_ids),
                     sync_dist=True)
            ppl = getattr(self, f"{stage}_ppl")
            ppl(logits[None], target_ids[None])  # (1, N, V), (1, N)
            self.log(f"{stage}/ppl", ppl, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def on_fit_start(self) -> None:
        self._seed = torch.initial_seed()  # what L.seed_everything(cfg.seed) set, the same when a run resumes
        reset_peak_memory(self.device)  # this run's peak, not an earlier job's of the same multirun

    def training_step(self, batch, batch_idx):
        # the dropout masks of a step depend on the run's seed, the step and the rank only, not on the random
        # draws before it: a run resumed from any checkpoint (mid-epoch too) trains on the same masks
        torch.manual_seed((self._seed * 1_000_003 + self.global_step * 64 + self.global_rank) % 2**63)
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._shared_step(batch, "test")

    def on_train_start(self) -> None:
        self.on_train_epoch_start()  # a run resumed mid-epoch gets no on_train_epoch_start
        resumed = getattr(self, "_resumed_nll", None)
        if resumed and resumed["epoch"] == self.current_epoch:  # the interrupted epoch goes on
            self._nll_sum, self._nll_tokens = torch.tensor(resumed["sum"], dtype=torch.float64), resumed["tokens"]

    def on_train_epoch_start(self) -> None:
        self._epoch_start, self._epoch_tokens, self._val_seconds = time.perf_counter(), 0, 0.0
        self._nll_sum, self._nll_tokens = torch.zeros((), dtype=torch.float64), 0

    def on_validation_epoch_start(self) -> None:
        self._val_start = time.perf_counter()

    def on_train_epoch_end(self) -> None:
        # the token-weighted mean NLL of the epoch's steps, every rank's (every rank reaches this hook); sync_dist
        # on a value every rank shares, and on the timings (their mean over ranks), is what DDP asks for
        totals = self.trainer.strategy.reduce(torch.stack([self._nll_sum.to(self.device).double(),
                                                           torch.tensor(float(self._nll_tokens), dtype=torch.float64,
                                                                        device=self.device)]), reduce_op="sum")
        if totals[1] > 0:  # 0: an epoch resumed at its very end from a checkpoint that did not keep its loss
            nll = (totals[0] / totals[1]).float()
            self.log("train/loss_epoch", nll, sync_dist=True)
            self.log("train/ppl", torch.exp(nll), sync_dist=True)
        seconds = time.perf_counter() - self._epoch_start
        self.log("train/epoch_seconds", seconds, sync_dist=True)  # training + its validation
        # throughput of the training steps alone, per process: target characters (padding excluded) per second
        self.log("train/tokens_per_second", self._epoch_tokens / max(seconds - self._val_seconds, 1e-9),
                 sync_dist=True)
        self.log("train/peak_memory_mb", peak_memory_mb(self.device), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:  # the untrained model's perplexity is not a best
            return
        if hasattr(self, "_epoch_start"):  # validation inside a training epoch
            self._val_seconds += time.perf_counter() - self._val_start
            self.log("val/seconds", time.perf_counter() - self._val_start, sync_dist=True)
        self.val_ppl_best(self.val_ppl.compute())
        self.log("val/ppl_best", self.val_ppl_best.compute(), prog_bar=True, sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # torchmetrics keeps metric states out of the state dict: the best so far must survive a resume, and
        # so must the interrupted epoch's training loss. No collective here (a SLURM signal saves from each rank
        # on its own): the file holds rank 0's share, which every rank takes up on resume (exact in one process;
        # under DDP the steps before the checkpoint count as rank 0's, times the ranks: their shares are alike)
        checkpoint["val_ppl_best"] = float(self.val_ppl_best.min_value)
        if self._nll_tokens:
            checkpoint["train_nll"] = {"epoch": self.current_epoch, "sum": float(self._nll_sum),
                                       "tokens": self._nll_tokens}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        best = checkpoint.get("val_ppl_best", float("inf"))  # after setup(), which resets the metric
        if best != float("inf"):
            self.val_ppl_best.update(torch.tensor(best))
        self._resumed_nll = checkpoint.get("train_nll")  # taken up in on_train_start, if that epoch goes on

    def configure_optimizers(self):
        opt = hydra.utils.instantiate(self.hparams.optimizer)(params=self.net.parameter_groups())
        if not self.hparams.scheduler:
            return opt
        sched_cfg = dict(self.hparams.scheduler)
        interval = sched_cfg.pop("interval", "epoch")  # what Lightning needs to know, said by the config
        if "total_steps" in sched_cfg and sched_cfg["total_steps"] is None:  # null: this run's steps
            sched_cfg["total_steps"] = self.trainer.estimated_stepping_batches
        scheduler = hydra.utils.instantiate(sched_cfg)(optimizer=opt)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": interval,
                                                   "monitor": "val/ppl"}}

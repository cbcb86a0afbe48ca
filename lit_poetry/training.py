"""train(cfg): instantiate data, model, callbacks, loggers and trainer from a Hydra config and fit."""

import logging
import os
import shlex
import time
import warnings
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor, ProgressBar
from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from lit_poetry.callbacks import ValidatedEnd
from lit_poetry.checkpoint import read_checkpoint
from lit_poetry.checkpoint_io import SameFolderCheckpointIO
from lit_poetry.errors import LitPoetryError
from lit_poetry.hardware import enable_tf32, resolve_precision, uses_cuda
from lit_poetry.lit_module import PoetryLitModule
from lit_poetry.resolvers import register_resolvers
from lit_poetry.schedules import duration_seconds
from lit_poetry.settings import check_settings

log = logging.getLogger(__name__)


def instantiate_group(cfg: DictConfig | None, kind: str) -> list:
    """Instantiate every `_target_` entry of a callbacks/logger group."""
    objects = []
    for conf in (cfg or {}).values():
        if isinstance(conf, DictConfig) and "_target_" in conf:
            log.info(f"Instantiating {kind} <{conf._target_}>")
            objects.append(hydra.utils.instantiate(conf))
    return objects


@rank_zero_only  # DDP: one process moves the file
def keep_earlier_csv_metrics(loggers: list[Logger]) -> None:
    """CSVLogger starts metrics.csv afresh; when a run resumes in the same folder, move the earlier rows
    aside (metrics-<time>.csv) so that the whole curve survives (plotting.py reads every metrics*.csv)."""
    for logger in loggers:
        if isinstance(logger, CSVLogger):
            path = Path(logger.log_dir) / "metrics.csv"
            if path.is_file():
                path.rename(path.with_name(f"metrics-{path.stat().st_mtime_ns}.csv"))


def readable(path: Path) -> bool:
    """Whether a checkpoint loads (a write cut short by a crash or a full disk does not)."""
    try:
        read_checkpoint(path)
        return True
    except LitPoetryError as error:
        log.warning(f"Skipping {path}: {error}")
        return False


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The newest readable state a run left in its folder: checkpoints/*.ckpt (last.ckpt: every epoch and
    every few minutes) or Lightning's SLURM requeue checkpoint hpc_ckpt_<n>.ckpt, newest first."""
    found = [p for p in [*(run_dir / "checkpoints").glob("*.ckpt"), *run_dir.glob("hpc_ckpt_*.ckpt")] if p.is_file()]
    return next((p for p in sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True) if readable(p)), None)


def training_checkpoint(path: str) -> str:
    """`ckpt_path`, checked as generate.py and evaluate check theirs, and as one that training resumes."""
    ckpt = read_checkpoint(path)
    if "state_dict" not in ckpt or "loops" not in ckpt:
        raise LitPoetryError(f"{path} holds a model for generation, not a training state to resume (an export, or "
                             "weights only); give <run dir>/checkpoints/last.ckpt, or leave ckpt_path unset")
    return str(path)


def resume_path(cfg: DictConfig) -> str | None:
    """`ckpt_path` when given; else, with `resume=true`, the newest readable checkpoint in this run's own
    folder (a requeued or restarted job, a run started again with the same hydra.run.dir)."""
    if cfg.ckpt_path:
        if not Path(cfg.ckpt_path).exists():
            raise LitPoetryError(f"ckpt_path={cfg.ckpt_path} does not exist; give a checkpoint such as "
                                 "<run dir>/checkpoints/last.ckpt, or leave ckpt_path unset to start fresh")
        return training_checkpoint(cfg.ckpt_path)
    run_dir = Path(cfg.paths.output_dir)
    newest = newest_checkpoint(run_dir) if cfg.get("resume", True) else None
    if newest:
        log.info(f"Resuming from {newest}, the newest checkpoint in this run's folder (resume=false starts afresh)")
        return str(newest)
    set_aside_requeue_checkpoints(run_dir)
    return None


def set_aside_requeue_checkpoints(run_dir: Path) -> None:
    """Under SLURM, Lightning resumes from the highest hpc_ckpt_<n>.ckpt in the run folder whenever fit is
    given no checkpoint. The run starts afresh only where resume_path chose none (resume=false, or nothing
    readable), so Lightning must find none either: each file whose name holds `hpc_ckpt_` (Lightning counts
    them all, a write's leftover temporary too) moves to the run's set-aside/ folder, kept and never read.
    A requeued job (SLURM_RESTART_COUNT > 0) keeps them: they are its own state, written before the requeue."""
    if os.environ.get("SLURM_RESTART_COUNT", "0").strip() not in ("", "0"):
        return
    for path in sorted(p for p in run_dir.glob("*hpc_ckpt_*") if p.is_file()):
        aside = run_dir / "set-aside" / f"{path.name}.{time.time_ns()}"  # never over an earlier one
        aside.parent.mkdir(exist_ok=True)
        try:
            path.replace(aside)
        except FileNotFoundError:  # DDP: another rank moved it first
            continue
        log.warning(f"Moved {path.name} to {aside}: this run starts afresh, and Lightning's SLURM resume "
                    "would load it")


def time_guard(max_time) -> ValidatedEnd:
    """`trainer.max_time` (DD:HH:MM:SS, a dict such as {hours: 1}, or null) as the guard that replaces
    Lightning's own, which may stop on an epoch it does not validate; checked before anything starts."""
    if isinstance(max_time, DictConfig):
        max_time = OmegaConf.to_container(max_time)
    seconds = duration_seconds(max_time)  # the parser scheduler=cosine reads its budget with
    return ValidatedEnd(duration=None if seconds is None else timedelta(seconds=seconds), interval="step")


LIBRARY_NOISE = [  # warnings about the libraries' own internals, or advice that does not apply to this run
    r"The `srun` command is available on your system but is not used",  # said on every machine with SLURM
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
]


class _NoAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


def one_line_per_message() -> None:
    """Lightning's loggers print on a handler of their own and again through the root logger's (Hydra's
    console and train.log): keep the root's, in the run's format. Adverts and warnings about libraries'
    internals are dropped (LIBRARY_NOISE)."""
    if logging.getLogger().handlers:  # a command's run: Hydra configured logging
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logger = logging.getLogger(name)
            for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
                logger.removeHandler(handler)
            logger.propagate = True
    rank_zero_log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoAdverts) for f in rank_zero_log.filters):  # once, however many runs a process has
        rank_zero_log.addFilter(_NoAdverts())
    for pattern in LIBRARY_NOISE:
        if "srun" in pattern and os.environ.get("SLURM_JOB_ID"):  # inside an allocation the hint may matter
            continue
        warnings.filterwarnings("ignore", message=pattern)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (and optionally test) a PoetryLitModule; returns the final logged metrics."""
    register_resolvers()  # a config composed outside the commands (tests, notebooks) resolves too
    one_line_per_message()
    check_settings(cfg)  # before any work: a value out of range is one line
    # oneDNN compiles and keeps a kernel per bf16 matmul shape (up to 1,024 by default, each holding
    # buffers); batches of varying length bring new shapes all run long. Read at its first matmul.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")  # an exported value wins
    ckpt_path = resume_path(cfg)
    guard = time_guard(cfg.trainer.get("max_time"))
    if cfg.get("test") and not cfg.data.get("test_fraction"):
        raise LitPoetryError("test=true needs a test split: set data.test_fraction (e.g. 0.1)")
    L.seed_everything(cfg.seed, workers=True)

    datamodule, model = data_and_model(cfg)
    callbacks = instantiate_group(cfg.get("callbacks"), "callback")
    loggers: list[Logger] = instantiate_group(cfg.get("logger"), "logger")
    if ckpt_path:
        keep_earlier_csv_metrics(loggers)
    if not loggers:  # the LR monitor has nowhere to write
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]

    callbacks.append(guard)
    if not cfg.trainer.get("enable_progress_bar", True):  # a cluster's log: Lightning refuses a bar callback then
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]

    precision = resolve_precision(cfg.trainer.get("precision", "32-true"), cfg.trainer.get("accelerator", "auto"))
    if uses_cuda(cfg.trainer.get("accelerator", "auto")):
        enable_tf32()
    log.info(f"Instantiating trainer <{cfg.trainer._target_}>")
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, max_time=None, precision=precision,
                                                 callbacks=callbacks, logger=loggers or False,
                                                 plugins=[SameFolderCheckpointIO()])
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if cfg.get("test"):
            best = next((c.best_model_path for c in trainer.checkpoint_callbacks if c.monitor == "val/ppl"), None)
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
            metrics.update({k: float(v) for k, v in trainer.callback_metrics.items()})
    finally:
        close_loggers(loggers)
    say_where_the_model_went(trainer)
    return metrics


@rank_zero_only
def say_where_the_model_went(trainer: L.Trainer) -> None:
    """The run's last words (after W&B's): why it stopped early, if it did, then the best checkpoint, its val
    perplexity, and the command that writes a poem with it."""
    stopper = trainer.early_stopping_callback
    if stopper is not None and stopper.stopped_epoch and stopper.wait_count >= stopper.patience:  # a resumed run
        # keeps the stopped_epoch of its checkpoint; the progress bar had shown "Epoch 4/29" and nothing more
        print(f"early stopping ended the run after epoch {stopper.stopped_epoch}: {stopper.monitor} had not "
              f"improved for {stopper.patience} validation{'s' * (stopper.patience != 1)}", flush=True)
    best = next((c for c in trainer.checkpoint_callbacks if c.monitor == "val/ppl" and c.best_model_path), None)
    if best is None:
        return
    score = best.best_model_score
    ppl = f", val perplexity {float(score):.2f}" if score is not None else ""
    print(f"best checkpoint: {best.best_model_path}{ppl}; write with it: "
          f"python generate.py ckpt_path={shlex.quote(best.best_model_path)} start=月 form=qijue", flush=True)


def data_and_model(cfg: DictConfig):
    """The DataModule (its corpus read, or downloaded on first use) and the PoetryLitModule for its vocabulary."""
    log.info(f"Instantiating datamodule <{cfg.data._target_}>")
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.prepare_data()
    log.info(f"Instantiating model <PoetryLitModule> (vocabulary {len(datamodule.vocab)})")
    model = PoetryLitModule(
        vocab=datamodule.vocab.to_dict(),
        model=OmegaConf.to_container(cfg.model, resolve=True),
        optimizer=OmegaConf.to_container(cfg.optimizer, resolve=True),
        scheduler=OmegaConf.to_container(cfg.scheduler, resolve=True) if cfg.get("scheduler") else None,
        data=asdict(datamodule.processing),  # evaluation reads the corpus the way training did
    )
    return datamodule, model


def close_loggers(loggers: list[Logger]) -> None:
    """Flush what was logged (also when fit stopped on an error) and end the W&B run, so that the next run
    of a multirun starts a new one."""
    for logger in loggers:
        logger.save()
    if any(type(lg).__name__ == "WandbLogger" for lg in loggers):
        import wandb

        wandb.finish()

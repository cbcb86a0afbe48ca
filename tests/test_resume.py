"""A resumed run is the run it continues: the same batches in the same order after a mid-epoch
checkpoint, the same dropout masks, so the same perplexities, and the best-so-far perplexity of the epochs
before it. (Dropout is on here: its masks must not depend on the random draws before the resume.)"""

import csv
import json

import lightning as L
import pytest

from lit_poetry.training import train

from .helpers import compose_train


class BatchLog(L.Callback):
    """Writes {global step: a fingerprint of the batch it trained on} to `path` (one JSON line per step)."""

    def __init__(self, path: str):
        self.path = path

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        inputs, _ = batch
        with open(self.path, "a") as f:
            f.write(json.dumps([trainer.global_step, inputs.shape[0], int(inputs.sum())]) + "\n")


def batches(path) -> dict[int, list[int]]:
    return {step: rest for step, *rest in map(json.loads, open(path))}


def by_epoch(run_dir, key: str = "val/ppl") -> dict[int, float]:
    """{epoch: key} from a run's CSV metrics."""
    rows = csv.DictReader(open(run_dir / "csv" / "metrics.csv"))
    return {int(r["epoch"]): float(r[key]) for r in rows if r.get(key)}


def overrides(tmp_path, run):
    return ["trainer.max_epochs=2", "trainer.limit_train_batches=null", "data.batch_size=64", "data.bucket_window=2",
            "logger=csv", "model.dropout=0.3", "model.weight_dropout=0.2",
            "callbacks=default", "~callbacks.rich_progress_bar", "~callbacks.early_stopping",
            "~callbacks.sample_poems", "+callbacks.steps._target_=lightning.pytorch.callbacks.ModelCheckpoint",
            f"+callbacks.steps.dirpath={tmp_path / 'steps'}", "+callbacks.steps.every_n_train_steps=5",
            "+callbacks.steps.save_top_k=-1", "+callbacks.steps.filename='{step}'",
            "+callbacks.batches._target_=tests.test_resume.BatchLog",
            f"+callbacks.batches.path={tmp_path / run}.jsonl"]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("whole")
    metrics = train(compose_train(tmp / "whole", overrides(tmp, "whole")))
    return tmp, metrics


@pytest.mark.parametrize("step", [5, 20])  # mid-epoch 0 and mid-epoch 1 (16 batches an epoch)
def test_a_mid_epoch_resume_trains_on_the_batches_the_whole_run_did(whole_run, step, tmp_path):
    tmp, _ = whole_run
    whole = batches(tmp / "whole.jsonl")
    assert len(whole) == 32 and len({tuple(b) for b in whole.values()}) > 24  # 2 epochs of 16 batches
    resumed_dir = tmp_path / "resumed"
    train(compose_train(resumed_dir, [*overrides(tmp_path, "resumed"),
                                      f"ckpt_path='{tmp / 'steps' / f'step={step}.ckpt'}'"]))
    resumed = batches(tmp_path / "resumed.jsonl")
    assert min(resumed) == step and max(resumed) == 31
    assert resumed == {s: whole[s] for s in resumed}
    # the epochs trained after the checkpoint end at the uninterrupted run's perplexity, to the last digit
    assert by_epoch(resumed_dir) == {e: p for e, p in by_epoch(tmp / "whole").items() if e >= step // 16}
    # and the interrupted epoch's training loss covers its steps before the checkpoint too
    for key in ("train/loss_epoch", "train/ppl"):
        whole_epochs = {e: v for e, v in by_epoch(tmp / "whole", key).items() if e >= step // 16}
        assert by_epoch(resumed_dir, key) == pytest.approx(whole_epochs, rel=1e-5), key


def test_a_resumed_run_keeps_its_best_perplexity(whole_run, tmp_path):
    """The best of the epochs before the checkpoint counts: val/ppl_best is the uninterrupted run's."""
    tmp, metrics = whole_run
    val = list(by_epoch(tmp / "whole").values())
    assert len(val) == 2 and metrics["val/ppl_best"] == pytest.approx(min(val))
    resumed = train(compose_train(tmp_path / "resumed", [*overrides(tmp_path, "resumed"),
                                                         f"ckpt_path='{tmp / 'steps' / 'step=20.ckpt'}'"]))
    assert resumed["val/ppl_best"] == pytest.approx(metrics["val/ppl_best"], rel=1e-6)

"""Shared fixtures: the real corpora, a tiny trained checkpoint. Helpers live in tests/helpers."""

import os
from pathlib import Path

import pytest

from .helpers import DATA_DIR, compose_train

os.environ["LIT_POETRY_DATA"] = str(DATA_DIR)
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert (DATA_DIR / "nndl" / "tangshi.txt").is_file(), (
        f"the corpora are expected in {DATA_DIR}: set LIT_POETRY_DATA (see ../shared/data/README.md)"
    )
    return DATA_DIR


@pytest.fixture
def cfg_train(tmp_path, data_dir):
    return compose_train(tmp_path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, data_dir) -> Path:
    """A PoetryLM trained for 40 steps on the small corpus, saved by the real checkpoint callback."""
    from lit_poetry.training import train

    out = tmp_path_factory.mktemp("tiny_run")
    cfg = compose_train(out, ["callbacks=default", "~callbacks.rich_progress_bar", "trainer.max_epochs=2",
                              "trainer.limit_train_batches=20", "trainer.limit_val_batches=null",
                              "trainer.enable_progress_bar=false"])
    train(cfg)
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    return ckpt

"""Shared fixtures: the real corpora, the real Hydra config shrunk to seconds, a tiny trained checkpoint."""

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LIT_POETRY_DATA", ROOT.parent / "shared" / "data")).resolve()
os.environ["LIT_POETRY_DATA"] = str(DATA_DIR)
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")

# small enough for seconds on a 2-core CPU, large enough to learn something from the small corpus
TINY = [
    "model.embedding_dim=32",
    "model.hidden_size=48",
    "trainer=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_model_summary=false",
    "callbacks=none",
    "logger=none",
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert (DATA_DIR / "nndl" / "tangshi.txt").is_file(), (
        f"the corpora are expected in {DATA_DIR}: set LIT_POETRY_DATA (see ../shared/data/README.md)"
    )
    return DATA_DIR


def compose_train(tmp_path: Path, overrides: list[str] = ()) -> DictConfig:
    """The real configs/train.yaml with TINY and `overrides`, writing everything under tmp_path."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "configs")):
        cfg = compose("train", overrides=[*TINY, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path)
        cfg.paths.log_dir = str(tmp_path / "logs")
        cfg.paths.cache_dir = str(tmp_path / "cache")
    os.environ["WANDB_DIR"] = str(tmp_path)
    return cfg


@pytest.fixture
def cfg_train(tmp_path, data_dir) -> DictConfig:
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

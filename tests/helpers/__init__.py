"""Helpers shared by the tests (fixtures stay in conftest.py): the real config shrunk to seconds, and
running the project's commands in a subprocess."""

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("LIT_POETRY_DATA", ROOT.parent / "shared" / "data")).resolve()

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
    "data.download=false",  # tests never touch the network
]


def compose_train(tmp_path: Path, overrides: list[str] = (), tiny: list[str] = TINY) -> DictConfig:
    """The real configs/train.yaml with `tiny` (TINY; less its model sizes for a network that has others)
    and `overrides`, writing everything under tmp_path."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "configs")):
        cfg = compose("train", overrides=[*tiny, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path)
        cfg.paths.log_dir = str(tmp_path / "logs")
        cfg.paths.cache_dir = str(tmp_path / "cache")
    os.environ["WANDB_DIR"] = str(tmp_path)
    return cfg


def run_cli(*args, cwd=ROOT, env: dict | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    """`python <args>` in the checkout, as a user types it (Hydra's short error reports). `timeout`: seconds
    before the test fails with subprocess.TimeoutExpired (for a command that could wait for ever)."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=timeout)


def make_tarball(path, data_dir, with_quantangshi=True):
    """A .tgz with the npm package's layout, holding two of the real corpus files."""
    tang300 = data_dir / "chinese-poetry/mengxue/tangshisanbaishou.json"
    members = {"package/dist/mengxue/tangshisanbaishou.json": tang300, "package/README.md": None}
    if with_quantangshi:
        members["package/dist/quantangshi/poet.tang.0.json"] = data_dir / "chinese-poetry/quantangshi/poet.tang.0.json"
    with tarfile.open(path, "w:gz") as tar:
        for name, source in members.items():
            data = source.read_bytes() if source else b"readme"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path

"""Shared fixtures: the real corpora, a tiny trained checkpoint. Helpers live in tests/helpers.

The small corpus ships with the package, so most tests run on a bare clone. Tests that need the
chinese-poetry corpora take the `data_dir` fixture: it skips them, with the reason, where the corpora
are absent, except in CI (CI=true), where their absence is an error. Tests never download."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .helpers import DATA_DIR, compose_train

HAVE_CORPORA = (DATA_DIR / "chinese-poetry" / "quantangshi").is_dir()
if HAVE_CORPORA:
    os.environ["LIT_POETRY_DATA"] = str(DATA_DIR)
os.environ["WANDB_MODE"] = "offline"
# tests never download: any http(s) request, here or in a subprocess, goes to a closed port and fails
os.environ["http_proxy"] = os.environ["https_proxy"] = "http://127.0.0.1:9"
for name in ("no_proxy", "NO_PROXY"):
    os.environ.pop(name, None)
os.environ.setdefault("WANDB_SILENT", "true")
# tests never write into the user's cache (~/.cache/lit_poetry: the tone table, the compiled kernel, processed
# corpora); a session builds its own unless LIT_POETRY_CACHE names one (make test and CI keep one per checkout)
_OWN_CACHE = None if os.environ.get("LIT_POETRY_CACHE") else tempfile.mkdtemp(prefix="lit_poetry_test_cache_")
if _OWN_CACHE:
    os.environ["LIT_POETRY_CACHE"] = _OWN_CACHE
# nor into W&B's (its debug logs go to ~/.cache/wandb/logs, its settings to ~/.config/wandb) or matplotlib's
# (its font list: ~/.cache/matplotlib)
for name, folder in (("WANDB_CACHE_DIR", "wandb-cache"), ("WANDB_CONFIG_DIR", "wandb-config"),
                     ("WANDB_DATA_DIR", "wandb-data"), ("MPLCONFIGDIR", "matplotlib")):
    os.environ.setdefault(name, os.path.join(os.environ["LIT_POETRY_CACHE"], folder))


def pytest_unconfigure(config):
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu", help="where the model tests run: cpu (default) or cuda "
                     "(make gpu-check); cuda where none is visible skips them")


@pytest.fixture(scope="session")
def device(request):
    """The device of the tests that run models (`--device`)."""
    import torch

    name = request.config.getoption("--device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("--device cuda but no CUDA GPU is visible")
    return torch.device(name)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding the chinese-poetry corpora (全唐诗, 唐诗三百首)."""
    reason = (f"needs the chinese-poetry corpora under {DATA_DIR} (set LIT_POETRY_DATA, or "
              "`python -m lit_poetry download data_dir=DIR`)")
    if not HAVE_CORPORA:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI {reason}")
        pytest.skip(reason)
    return DATA_DIR


@pytest.fixture
def cfg_train(tmp_path):
    return compose_train(tmp_path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An LSTMLM trained for 40 steps on the small corpus, saved by the real checkpoint callback."""
    from lit_poetry.training import train

    out = tmp_path_factory.mktemp("tiny_run")
    cfg = compose_train(out, ["callbacks=default", "~callbacks.rich_progress_bar", "trainer.max_epochs=2",
                              "trainer.limit_train_batches=20", "trainer.limit_val_batches=null",
                              "trainer.enable_progress_bar=false"])
    train(cfg)
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    return ckpt


@pytest.fixture(scope="session")
def titled_checkpoint(data_dir, tmp_path_factory):
    """A tiny model trained on 唐诗三百首 with titles, saved by the real checkpoint callback."""
    from lit_poetry.training import train

    out = tmp_path_factory.mktemp("titled_run")
    train(compose_train(out, ["data=tang300", "data.titles=true", "data.untitled_fraction=0.3",
                              "callbacks=default", "~callbacks.rich_progress_bar", "trainer.enable_progress_bar=false",
                              "trainer.limit_train_batches=10", "trainer.limit_val_batches=null"]))
    return out / "checkpoints" / "last.ckpt"

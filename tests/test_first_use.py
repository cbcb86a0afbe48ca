"""What a user with only a clone meets: the built-in small corpus, the large corpora downloaded once on
first use (from a local tarball here: tests never touch the network), and training in a bare clone."""

import hashlib
import shutil
import subprocess
import sys

import pytest

from lit_poetry.data import download
from lit_poetry.data.corpora import CORPORA, corpus_files, read_corpus
from lit_poetry.errors import LitPoetryError
from lit_poetry.training import train

from .helpers import DATA_DIR, ROOT, compose_train, make_tarball, run_cli


def test_builtin_corpus_is_read_when_the_data_directory_has_none(tmp_path):
    assert corpus_files("tangshi", tmp_path / "empty") == [CORPORA["tangshi"].builtin]
    assert len(read_corpus("tangshi", tmp_path / "empty")) == 168
    handout = DATA_DIR / "nndl" / "tangshi.txt"
    if handout.is_file():  # the shipped copy is the handout file, byte for byte, and a local copy wins
        assert CORPORA["tangshi"].builtin.read_bytes() == handout.read_bytes()
        assert corpus_files("tangshi", DATA_DIR) == [handout]


def test_the_large_corpus_downloads_once_on_first_use(tmp_path, data_dir, monkeypatch, capsys):
    tarball = make_tarball(tmp_path / "chinese-poetry-2.0.1.tgz", data_dir)
    monkeypatch.setattr(download, "TARBALL_URL", tarball.as_uri())
    monkeypatch.setattr(download, "TARBALL_SHA1", hashlib.sha1(tarball.read_bytes()).hexdigest())
    fresh = tmp_path / "data"
    overrides = ["data=tang300", "data.download=true", f"data.data_dir={fresh}", "trainer.limit_train_batches=2"]

    with pytest.raises(LitPoetryError, match="data.download=false"):
        train(compose_train(tmp_path / "off", [*overrides[:-2], "data.download=false", f"data.data_dir={fresh}"]))
    assert not fresh.exists()  # nothing written when downloading is off

    train(compose_train(tmp_path / "first", overrides))
    err = capsys.readouterr().err
    assert "downloading chinese-poetry@2.0.1:" in err and "(100%)" in err  # the progress line
    assert read_corpus("tang300", fresh) == read_corpus("tang300", data_dir)

    tarball.unlink()  # a second run must not need the network (or the tarball) at all
    train(compose_train(tmp_path / "second", overrides))
    assert "downloading" not in capsys.readouterr().err


@pytest.mark.slow
def test_training_works_in_a_bare_clone(tmp_path):
    """A clone with no data beside it, no $LIT_POETRY_DATA and an empty home: the Quickstart's training
    command runs on the built-in corpus. (The clone holds the committed tree.)"""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    clone = tmp_path / "checkout" / "lit-poetry"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {"HOME": str(tmp_path / "home"), "LIT_POETRY_DATA": "", "LIT_POETRY_CACHE": "", "WANDB_DIR": str(tmp_path)}
    run = run_cli("train.py", "trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2",
                  "model.embedding_dim=16", "model.hidden_size=24", "logger=csv", "~callbacks.rich_progress_bar",
                  "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path / 'run'}", cwd=clone, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert not (clone / "data").exists() and not (tmp_path / "home" / ".cache" / "lit_poetry" / "data").exists()
    assert str(clone / "lit_poetry" / "data" / "builtin" / "tangshi.txt") in (
        subprocess.run([sys.executable, "-c", "from lit_poetry.data.corpora import corpus_files; "
                        "print(corpus_files('tangshi'))"], cwd=clone, env={**env, "PATH": ""},
                       capture_output=True, text=True).stdout)


@pytest.mark.parametrize("beside", [True, False])
def test_the_commands_read_the_corpora_where_the_readme_says_to_put_them(beside, tmp_path, data_dir):
    """#41: the README says to put the corpora in ../shared/data beside the checkout; only make and the
    tests looked there, and `train.py data.download=false` named ~/.cache alone. Without them, the error
    names every place it looked."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    clone = tmp_path / "checkout" / "lit-poetry"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone)], check=True)
    if beside:
        (tmp_path / "checkout" / "shared" / "data").mkdir(parents=True)
        (tmp_path / "checkout" / "shared" / "data" / "chinese-poetry").symlink_to(data_dir / "chinese-poetry")
    env = {"HOME": str(tmp_path / "home"), "LIT_POETRY_DATA": "", "LIT_POETRY_CACHE": str(tmp_path / "cache")}
    run = run_cli("-m", "lit_poetry", "stats", "data=tang300", "data.download=false", cwd=clone, env=env)
    if beside:
        assert run.returncode == 0 and '"poems_read": 320' in run.stdout, run.stderr[-2000:]
    else:
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert str(tmp_path / "home" / ".cache" / "lit_poetry" / "data") in run.stderr
        assert "$LIT_POETRY_DATA, ../shared/data beside the checkout: not set or absent" in run.stderr

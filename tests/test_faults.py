"""Faults a user's machine causes: a full disk while a checkpoint is written, a checkpoint cut short, a
foreign file given to train.py, a checkpoint named as Lightning names them. Each ends in one line or a
correct resume, and nothing already written is lost."""

import errno
import os
import shutil
import stat
import subprocess

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_poetry import checkpoint_io
from lit_poetry.checkpoint import read_checkpoint
from lit_poetry.checkpoint_io import SameFolderCheckpointIO
from lit_poetry.errors import LitPoetryError
from lit_poetry.resources import atomic_path
from lit_poetry.training import newest_checkpoint, train

from .helpers import compose_train, run_cli

TINY_RUN = ["trainer=cpu", "trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2",
            "model.embedding_dim=16", "model.hidden_size=24", "logger=csv", "callbacks=default",
            "~callbacks.rich_progress_bar", "trainer.enable_progress_bar=false", "~callbacks.sample_poems"]


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_what_it_needs(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = SameFolderCheckpointIO()
    io.save_checkpoint({"step": 1}, path)

    class FullDisk:
        def __init__(self, *args, **kwargs):
            self.file = open(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_io, "open", FullDisk, raising=False)
    with pytest.raises(LitPoetryError, match=r"could not write checkpoint .*last.ckpt \(No space left on device\)"
                                             r": it needs \d+ MB in .*checkpoints"):
        io.save_checkpoint({"step": 2, "big": torch.zeros(1000)}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}  # the previous one, intact
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary left behind


def test_checkpoints_are_staged_beside_their_target_not_in_tmp(tmp_path, monkeypatch):
    """A node whose temp folder is full (Lightning's writer staged every checkpoint there): the run
    folder has room, so the checkpoints are written."""
    import tempfile

    staged_elsewhere = tempfile.mkstemp

    def full_tmp(suffix=None, prefix=None, dir=None, text=False):
        if dir is None:  # the system temp folder
            raise OSError(errno.ENOSPC, "No space left on device", tempfile.gettempdir())
        return staged_elsewhere(suffix, prefix, dir, text)

    monkeypatch.setattr(tempfile, "mkstemp", full_tmp)
    train(compose_train(tmp_path, TINY_RUN))
    assert read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["state_dict"]


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "run"
    train(compose_train(out, TINY_RUN))
    return out


def test_resume_skips_a_damaged_checkpoint_for_the_next_readable_one(one_run, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(one_run, run)
    last, best = run / "checkpoints" / "last.ckpt", run / "checkpoints" / "best.ckpt"
    assert newest_checkpoint(run) in (last, best)
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 3])  # a write cut short
    last.touch()  # and the newest file
    assert newest_checkpoint(run) == best
    assert "Skipping" in caplog.text and "last.ckpt" in caplog.text


@pytest.mark.parametrize("damage", ["truncated", "foreign", "export"])
def test_train_ckpt_path_refuses_a_damaged_or_foreign_file_in_one_line(damage, one_run, tmp_path):
    bad = tmp_path / "bad.ckpt"
    last = one_run / "checkpoints" / "last.ckpt"
    if damage == "truncated":
        bad.write_bytes(last.read_bytes()[:5000])
    elif damage == "foreign":
        torch.save({"epoch": 1, "state_dict": {}}, bad)  # another project's checkpoint
    else:
        exported = run_cli("-m", "lit_poetry", "export", f"ckpt_path={last}", f"out={bad}")
        assert exported.returncode == 0 and bad.is_file(), exported.stderr[-2000:]
    run = run_cli("train.py", *TINY_RUN, f"ckpt_path={bad}", f"hydra.run.dir={tmp_path / 'run'}")
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.strip().startswith("error:") and "Traceback" not in run.stderr
    assert str(bad) in run.stderr


def test_lightning_checkpoint_names_are_accepted(one_run, tmp_path):
    named = tmp_path / "epoch=0-step=3.ckpt"
    shutil.copy(one_run / "checkpoints" / "last.ckpt", named)
    run = run_cli("generate.py", f"ckpt_path={named}", "start=月", "form=wujue", "seed=0")
    assert run.returncode == 0 and len(run.stdout.split()) == 4, run.stderr[-2000:]
    resumed = run_cli("train.py", *TINY_RUN, "trainer.max_epochs=2", f"ckpt_path={named}",
                      f"hydra.run.dir={tmp_path / 'run'}", f"paths.cache_dir={tmp_path / 'cache'}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 0.999))
def test_a_checkpoint_cut_anywhere_is_one_line_and_resume_takes_the_other(cut, one_run, tmp_path_factory):
    """A last.ckpt cut at any offset (a write killed, a copy interrupted): reading it is one clear error,
    and resume takes best.ckpt, which is intact."""
    run = tmp_path_factory.mktemp("cut") / "run"
    shutil.copytree(one_run, run)
    last = run / "checkpoints" / "last.ckpt"
    data = last.read_bytes()
    last.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(LitPoetryError, match="is not a lit-poetry checkpoint"):
        read_checkpoint(last)
    assert newest_checkpoint(run) == run / "checkpoints" / "best.ckpt"


def test_a_cache_folder_that_cannot_be_written_costs_only_the_cache(tmp_path, monkeypatch, caplog):
    from lit_poetry.data import cache

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "_write", full_disk)
    metrics = train(compose_train(tmp_path / "run", TINY_RUN))
    assert metrics["val/ppl"] > 1 and "not written (No space left on device)" in caplog.text


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KB filesystem: a run's files do not fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("full", ["run folder", "data cache"])
def test_a_full_disk_is_one_line_wherever_the_write_was(full, small_disk, tmp_path):
    """Whatever fills up first (a checkpoint, the metrics, the hparams file; or the data cache, which the
    run goes on without), the run ends in one line or trains on, and never shows a traceback."""
    run_dir = small_disk / "run" if full == "run folder" else tmp_path / "run"
    cache = tmp_path / "cache" if full == "run folder" else small_disk / "cache"
    with open(small_disk / "filler", "wb") as filler:  # the disk is full already (or nearly: the run folder)
        try:
            filler.write(b"\0" * (200_000 if full == "run folder" else 600_000))
        except OSError:
            pass
    run = run_cli("train.py", *TINY_RUN, "model.embedding_dim=64", "model.hidden_size=128",
                  f"hydra.run.dir={run_dir}", f"paths.cache_dir={cache}")
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    if full == "run folder":
        assert run.returncode == 2 and run.stderr.strip().splitlines()[-1].startswith("error: could not write")
    else:
        assert run.returncode == 0 and "not written" in run.stderr + run.stdout


class RunsCode:
    """A pickle that runs a command when it is loaded without the weights-only protection."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (subprocess.call, (["touch", self.marker],))


SLURM_JOB = {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train", "SLURM_JOB_ID": "7", "SLURM_NODELIST": "node1",
             "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
             "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}  # the way out torch's own error text suggests


@pytest.mark.parametrize(("planted", "resume"), [("code", "true"), ("empty", "false")])
def test_a_planted_requeue_checkpoint_is_never_loaded_by_lightning_or_anyone(planted, resume, tmp_path):
    """#41: Lightning's SLURM auto-resume loaded the hpc_ckpt_<n>.ckpt that the project had skipped. The
    project decides alone: the run starts afresh, the file is kept aside, and no code in it runs."""
    run, marker = tmp_path / "run", tmp_path / "code-ran"
    run.mkdir()
    planted_file = run / "hpc_ckpt_1.ckpt"
    if planted == "code":
        torch.save({"state_dict": {}, "loops": RunsCode(marker)}, planted_file)
    else:
        planted_file.touch()
    (run / ".hpc_ckpt_2.ckpt.99.tmp").write_bytes(b"PK")  # a requeue save cut short: Lightning counts it too
    result = run_cli("train.py", *TINY_RUN, f"resume={resume}", f"hydra.run.dir={run}",
                     env=SLURM_JOB)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not marker.exists()
    assert not planted_file.exists() and sorted(p.name.split(".ckpt")[0] for p in (run / "set-aside").iterdir()) == [
        ".hpc_ckpt_2", "hpc_ckpt_1"]
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 3  # trained afresh


def test_a_checkpoint_that_would_run_code_is_refused_in_words_that_keep_the_protection(tmp_path):
    marker, bad = tmp_path / "code-ran", tmp_path / "bad.ckpt"
    torch.save({"hyper_parameters": RunsCode(marker)}, bad)
    for command in ("generate.py", "train.py"):
        result = run_cli(command, f"ckpt_path={bad}", *(TINY_RUN if command == "train.py" else ()),
                         f"hydra.run.dir={tmp_path / 'run'}", env={"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"})
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-2000:]
        assert "holds objects other than tensors" in result.stderr
        assert "weights_only=False" not in result.stderr and "TORCH_FORCE" not in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("given", ["folder", "runs folder", "text file"])
def test_ckpt_path_that_is_no_checkpoint_says_what_it_is(given, tmp_path):
    path = tmp_path / ("notes.txt" if given == "text file" else "runs")
    if given == "text file":
        path.write_text("101\n")
    else:
        path.mkdir()
    expected = {"folder": f"is a folder; give a checkpoint file, such as {path / 'checkpoints' / 'best.ckpt'}",
                "text file": "it is not a file torch saved"}.get(given)
    if given == "runs folder":  # logs/train/runs: the runs' checkpoints are a level further down
        best = path / "2026-12-06_20-00-00" / "checkpoints" / "best.ckpt"
        best.parent.mkdir(parents=True)
        best.write_bytes(b"")
        expected = f"is a folder; give a checkpoint file under it, such as {best}"
    for command in ("generate.py", "train.py"):
        result = run_cli(command, f"ckpt_path={path}", *(TINY_RUN if command == "train.py" else ()),
                         f"hydra.run.dir={tmp_path / 'out'}")
        assert result.returncode == 2 and expected in result.stderr, result.stderr[-2000:]


def test_a_write_cut_short_leaves_the_old_file_and_no_temporary(tmp_path):
    """The one way files are written in place (checkpoints, the data cache, the tone table, the kernel)."""
    target = tmp_path / "table.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("cut short")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_two_writers_of_one_file_never_share_a_temporary(tmp_path):
    """The tone table was staged as table.tmp: two processes building it at once wrote into one file."""
    with atomic_path(tmp_path / "table.json") as first, atomic_path(tmp_path / "table.json") as second:
        first.write_text("one")
        second.write_text("two")
        assert first != second
    assert (tmp_path / "table.json").read_text() in ("one", "two") and len(list(tmp_path.iterdir())) == 1


def test_a_file_written_in_place_has_the_modes_of_any_new_file(tmp_path):
    """Staged with mkstemp (its owner's alone, 0600), a checkpoint or the tone table would be unreadable to
    the group a run folder or a shared cache is for."""
    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "last.ckpt") as tmp:
            tmp.write_bytes(b"weights")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "last.ckpt").stat().st_mode) == 0o644

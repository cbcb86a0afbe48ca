"""Runs that survive a stop, sweeps that survive a diverged trial, and a real one-node SLURM.

The `slurm` tests use the SLURM that `scripts/start_slurm.sh` starts (CI does); without one they skip."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from lit_poetry.hydra_callbacks import Node, unstartable
from lit_poetry.plotting import read_run
from lit_poetry.training import train

from .helpers import ROOT, compose_train, run_cli

QUIET = ["logger=csv", "~callbacks.rich_progress_bar", "trainer.enable_progress_bar=false", "~callbacks.sample_poems"]


def step_of(ckpt: Path) -> int | None:
    """global_step of a checkpoint, None while it is being written."""
    try:
        return torch.load(ckpt, weights_only=False, map_location="cpu")["global_step"]
    except Exception:
        return None


def test_last_checkpoint_after_early_stopping_holds_the_final_epoch_and_the_run_says_why_it_ended(tmp_path, capsys):
    # best.ckpt keeps the highest val/ppl and early stopping waits for a higher one: with a falling
    # perplexity the best stays at epoch 0 and the run stops after epoch 1
    train(compose_train(tmp_path, ["callbacks=default", *QUIET, "trainer.max_epochs=5", "trainer.limit_train_batches=3",
                                   "callbacks.model_checkpoint.mode=max", "callbacks.early_stopping.mode=max",
                                   "callbacks.early_stopping.patience=1", "optimizer.lr=3e-3"]))
    best = torch.load(tmp_path / "checkpoints" / "best.ckpt", weights_only=False)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert best["epoch"] == 0 and last["epoch"] == 1 and last["global_step"] == 6
    assert "early stopping ended the run after epoch 1: val/ppl had not improved for 1 validation\n" in (
        capsys.readouterr().out)


@pytest.mark.slow
def test_a_killed_run_resumes_mid_epoch_from_the_timed_checkpoint(tmp_path):
    """SIGKILL mid-epoch, then the same command again: it resumes from last.ckpt by itself, finishes the
    epoch's remaining batches (no more, no fewer) and keeps the earlier metrics."""
    run_dir = tmp_path / "run"
    args = ["train.py", "trainer=cpu", "trainer.max_epochs=2", "trainer.limit_train_batches=30",
            "trainer.log_every_n_steps=1", "callbacks=default", *QUIET,
            "callbacks.timed_checkpoint.train_time_interval.minutes=0", f"hydra.run.dir={run_dir}",
            f"paths.cache_dir={tmp_path / 'cache'}"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if last.is_file() and (step_of(last) or 0) >= 5:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    killed_at = step_of(last)
    assert proc.returncode == -signal.SIGKILL and killed_at is not None and 5 <= killed_at < 30, killed_at

    again = run_cli(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"Resuming from {last}" in again.stdout + again.stderr
    assert step_of(last) == 60  # 2 epochs of 30 batches: the killed epoch was finished, not repeated
    rows = list(csv.DictReader(open(next((run_dir / "csv").glob("metrics-*.csv")))))
    assert rows and all(int(r["step"]) < killed_at for r in rows)  # the curve before the kill is kept
    assert read_run(run_dir).val_epochs == [0, 1]
    whole_dir = tmp_path / "whole"  # the same command, never killed: the same curve, to the last digit
    whole = run_cli(*[f"hydra.run.dir={whole_dir}" if a.startswith("hydra.run.dir=") else a for a in args])
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert read_run(run_dir).val_ppl == read_run(whole_dir).val_ppl


@pytest.mark.slow
def test_an_optuna_sweep_survives_a_diverging_trial(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs pip install -e '.[cluster]'")
    params = "{optimizer.lr:'choice(1e-2, 1e38)',model.hidden_size:'choice(16,24)'}"  # 1e38 diverges
    # sampler seed 0 draws the diverging rate for one trial of three (a fixed seed keeps the test stable)
    run = run_cli("train.py", "hparams_search=optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.seed=0",
                  "optimizer=momentum",
                  f"hydra.sweeper.params={params}", "trainer.gradient_clip_val=null", "trainer=cpu",
                  "trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2",
                  "model.embedding_dim=16", *QUIET[:-1], f"hydra.sweep.dir={tmp_path}",
                  f"paths.cache_dir={tmp_path / 'cache'}")
    assert run.returncode == 0, run.stderr[-3000:]
    result = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    runs = [read_run(tmp_path / str(k)) for k in range(3)]
    stopped = [r for r in runs if r.error_type]
    assert stopped and all(r.error_type == "DivergedError" and r.diverged for r in stopped)  # named, not lost
    assert len(stopped) < 3 and result["best_value"] < 1e6  # the finite trials were scored and compared


# --- a real SLURM -------------------------------------------------------------------------------------

def slurm_up() -> bool:
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return probe.returncode == 0 and any(s in probe.stdout for s in ("idle", "mixed", "allocated"))


slurm = pytest.mark.skipif(not slurm_up(), reason="no SLURM answers `sinfo` here (CI starts one: "
                                                  "sudo bash scripts/start_slurm.sh)")


def wait_for_job(job_id: str, timeout: float = 240, release: bool = False) -> None:
    """Until the job has left the queue; `release` starts a requeued job at once (SLURM holds it back)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"], capture_output=True, text=True).stdout
        if not state.strip():
            return
        if release and "PENDING" in state:
            subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], capture_output=True)
        time.sleep(1)
    subprocess.run(["scancel", job_id])
    pytest.fail(f"SLURM job {job_id} still queued after {timeout} s")


def sbatch(tmp_path: Path, *overrides: str, ntasks: int = 1) -> str:
    env = {**os.environ, "PYTHON": sys.executable, "LIT_POETRY_RUN_DIR": str(tmp_path / "run")}
    out = subprocess.run(["sbatch", "--parsable", f"--ntasks-per-node={ntasks}", "--cpus-per-task=1",
                          f"--output={tmp_path}/slurm-%j.out", "scripts/train.sbatch", *QUIET,
                          f"paths.cache_dir={tmp_path / 'cache'}", *overrides],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().split(";")[0]


@slurm
@pytest.mark.slow
def test_a_multirun_through_the_slurm_launcher(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs pip install -e '.[cluster]'")
    run = run_cli("train.py", "-m", "hydra/launcher=slurm", "optimizer=adam,sgd", "trainer=cpu", "trainer.max_epochs=1",
                  "trainer.log_every_n_steps=1",
                  "trainer.limit_train_batches=3", "trainer.limit_val_batches=2", "model.embedding_dim=16",
                  "model.hidden_size=24", *QUIET, "hydra.launcher.mem_gb=1", "hydra.launcher.cpus_per_task=1",
                  f"hydra.sweep.dir={tmp_path}", f"paths.cache_dir={tmp_path / 'cache'}")
    assert run.returncode == 0, run.stderr[-3000:]
    for job in ("0", "1"):
        result = read_run(tmp_path / job)
        assert len(result.train_loss) == 3 and len(result.val_ppl) == 1, job
    assert list((tmp_path / ".submitit").iterdir())  # they went through sbatch


@pytest.mark.parametrize(("asked", "nodes", "fix"), [
    ({"tasks_per_node": 2, "cpus_per_task": 2}, [Node(2, 23_000, 0)], "give hydra.launcher.cpus_per_task=1"),
    ({"tasks_per_node": 3, "cpus_per_task": 2}, [Node(2, 23_000, 0)],
     "give trainer.devices=1 or fewer (one task of 2 CPUs per device)"),
    ({"tasks_per_node": 1, "mem_gb": 64}, [Node(64, 32_768, 0)], "give hydra.launcher.mem_gb=32 or less"),
    ({"tasks_per_node": 1, "gpus_per_node": 1}, [Node(64, 256_000, 0)], "give hydra.launcher.partition="),
    ({"tasks_per_node": 4, "cpus_per_task": 8, "gpus_per_node": 4}, [Node(16, 256_000, 4), Node(128, 512_000, 0)],
     "no node of the default partition has them all"),  # each alone fits some node, all together none
    ({"tasks_per_node": 1, "nodes": 3}, [Node(64, 256_000, 0)] * 2, "give trainer.num_nodes=2"),
])
def test_a_job_no_node_can_hold_is_refused_naming_what_fits(asked, nodes, fix):
    """The check behind the refusal below, on clusters this machine does not have."""
    assert fix in unstartable(OmegaConf.create({"cpus_per_task": 1, **asked}), nodes)
    assert unstartable(OmegaConf.create({"tasks_per_node": 1, "cpus_per_task": 1}), nodes) is None


@slurm
def test_a_job_no_node_can_hold_is_refused_at_submission(tmp_path):
    """#41: 2 tasks x 2 CPUs on a 2-CPU node stayed PENDING (PartitionConfig) for ever, the launcher silent."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs pip install -e '.[cluster]'")
    listed = subprocess.run(["sinfo", "-h", "-N", "-o", "%P %c"], capture_output=True, text=True, check=True).stdout
    most = max(int(cpus) for part, cpus in map(str.split, listed.splitlines()) if part.endswith("*"))  # sbatch's
    common = ["-m", "hydra/launcher=slurm", "trainer=ddp", "trainer.accelerator=cpu", *QUIET, "hydra.launcher.mem_gb=1",
              f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    too_wide = run_cli("train.py", *common, "trainer.devices=1", f"hydra.launcher.cpus_per_task={most + 1}")
    assert too_wide.returncode == 2 and too_wide.stderr.strip().splitlines() == [
        f"error: the SLURM job asks 1 task x {most + 1} CPUs = {most + 1} CPUs on a node (trainer.devices x "
        f"hydra.launcher.cpus_per_task), and no node of the default partition has more than {most}: SLURM would keep "
        f"the job waiting for ever; give hydra.launcher.cpus_per_task={most}"], too_wide.stderr
    too_many = run_cli("train.py", *common, f"trainer.devices={most + 1}", "hydra.launcher.cpus_per_task=1")
    assert too_many.returncode == 2 and f"give trainer.devices={most} or fewer" in too_many.stderr
    assert not (tmp_path / "sweep").exists()  # nothing submitted, nothing written


@slurm
@pytest.mark.slow
def test_ddp_as_a_two_task_slurm_job(tmp_path):
    job = sbatch(tmp_path, "trainer=ddp_sim", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
                 "trainer.limit_val_batches=2", "model.embedding_dim=16", "model.hidden_size=24", ntasks=2)
    wait_for_job(job)
    out = (tmp_path / f"slurm-{job}.out").read_text()
    assert "Starting with 2 processes" in out and "MEMBER: 2/2" in out, out[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


PREEMPTED = ["trainer=cpu", "trainer.max_epochs=2", "trainer.limit_train_batches=40", "trainer.log_every_n_steps=1",
             "model.dropout=0.2", "callbacks.timed_checkpoint.train_time_interval.minutes=0"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[float]:
    """Val perplexities of the preempted jobs' run, never stopped (a local process with the same settings)."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    run = run_cli("train.py", f"hydra.run.dir={tmp / 'run'}", *QUIET, f"paths.cache_dir={tmp / 'cache'}", *PREEMPTED)
    assert run.returncode == 0, run.stderr[-3000:]
    return read_run(tmp / "run").val_ppl


@slurm
@pytest.mark.slow
@pytest.mark.parametrize("stop", ["usr1", "requeue"])
def test_a_preempted_job_requeues_resumes_and_draws_the_uninterrupted_curve(stop, uninterrupted, tmp_path):
    """USR1 (what SLURM sends before preempting: an hpc checkpoint, then a requeue) or `scontrol requeue`
    (the job killed and started again: it resumes from its newest last.ckpt) in the middle of epoch 0."""
    job = sbatch(tmp_path, *PREEMPTED)
    metrics = tmp_path / "run" / "csv" / "metrics.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (metrics.is_file() and len(metrics.read_text().splitlines()) > 5):
        time.sleep(0.2)
    stopped_at = step_of(tmp_path / "run" / "checkpoints" / "last.ckpt")
    if stop == "usr1":
        subprocess.run(["scancel", "--signal=USR1", job], check=True)
    else:
        subprocess.run(["scontrol", "requeue", job], check=True)
    wait_for_job(job, release=True)
    out = (tmp_path / f"slurm-{job}.out").read_text()
    assert "restart 1" in out and "Resuming from" in out, out[-3000:]
    if stop == "usr1":  # the requeue checkpoint; the job resumes from it or from a last.ckpt of the same step
        saved = step_of(tmp_path / "run" / "hpc_ckpt_1.ckpt")
        assert saved is not None and 0 < saved < 40  # mid-epoch 0
    else:
        assert stopped_at is not None and stopped_at < 40
    assert step_of(tmp_path / "run" / "checkpoints" / "last.ckpt") == 80  # the step count went on to the end
    result = read_run(tmp_path / "run")
    assert result.val_epochs == [0, 1] and result.train_steps[0] == 0  # the CSV kept the earlier rows
    # the job has one CPU, the reference two threads: float sums may differ in their last bits
    assert result.val_ppl == pytest.approx(uninterrupted, rel=1e-5)

"""Every command in README.md runs to its end, as written plus tiny CPU-sized overrides (few batches,
small sizes, CPU processes for GPUs), so that no documented command can break unnoticed.

Each line of the README's bash blocks is one test. Placeholders (`<run>`, `...`, `<date>`) become a tiny
trained run; `[optional]` parts are left out. What cannot run here says why in its skip reason.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import ROOT, compose_train
from .test_cluster import slurm_up, wait_for_job
from .test_docs import commands

NOT_RUN_HERE = {  # line prefix -> why a test does not run it
    "make test": "the test suite itself (CI runs it: .ci/run)",
    "make train": "= python train.py, run below",
    "make wheel-check": "CI runs it after the tests (.ci/run)",
    "make gpu-check": "needs a CUDA GPU (scripts/gpu_check.sh)",
    "pip install": "CI's install (make install) runs it",
}
QUIET = ["trainer.enable_progress_bar=false", "~callbacks.rich_progress_bar", "trainer.enable_model_summary=false"]
# argparse commands: later flags win, so these shrink them
TINY_FLAGS = {
    "benchmarks/bench_lstm.py": "--rounds 1 --batch 4 --seq 6 --embed 16 --hidden 16 --vocab 60",
    "benchmarks/profile_step.py": "--rounds 1 --batch 4 --seq 6 --embed 16 --hidden 16 --vocab 60",
    "benchmarks/bench_gemm.py": "--reps 1 --batch 4 --seq 6 --embed 16 --hidden 16 --vocab 60",
    "benchmarks/bench_generate.py": "--runs 1",
    "benchmarks/bench_numpy.py": "--rounds 1 --batch 2 --seq 4 --embed 8 --hidden 8 --vocab 40",
    "benchmarks/bench_app.py": "--clients 2 --requests 1 --poems 1",
    "scripts/screenshot_app.py": "",
    "numpy-train": "steps=3 log_every=1",
}


def readme_lines() -> list[str]:
    lines = commands(ROOT / "README.md")
    return list(dict.fromkeys(line for line in lines if line.startswith(("python", "make", "pip", "mkdir"))))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny trained run (csv metrics, last.ckpt and best.ckpt) for every <run> and `...` of the README."""
    from lit_poetry.training import train

    run = tmp_path_factory.mktemp("readme_run")
    train(compose_train(run, ["callbacks=default", "logger=csv", "trainer.limit_train_batches=10", *QUIET]))
    shutil.copy(run / "checkpoints" / "last.ckpt", run / "checkpoints" / "best.ckpt")
    return run


def swap_placeholders(tokens: list[str], run: Path, tmp: Path) -> list[str]:
    out = []
    for k, token in enumerate(tokens):
        key, _, value = token.partition("=")
        if k and tokens[k - 1] == "--out":
            token = str(tmp / Path(token).name)  # same name: its suffix says the file's type
        elif key == "ckpt_path":
            token = f"ckpt_path={run / 'checkpoints' / ('last.ckpt' if 'last' in value else 'best.ckpt')}"
        elif key == "out":  # a file the command writes
            token = f"out={tmp / value}"
        elif key == "corpus" and "path/to" in value:
            token = f"corpus={ROOT / 'lit_poetry' / 'data' / 'builtin' / 'tangshi.txt'}"
        elif token.endswith(".ckpt"):  # a checkpoint of the reader's own
            token = str(run / "checkpoints" / "best.ckpt")
        elif "<" in token:  # a run or sweep folder of the reader's own
            token = str(run)
        out.append(token)
    return out


def train_overrides(tokens: list[str], tmp: Path, cache: Path) -> list[str]:
    """tokens of a `python train.py ...` line, on the CPU and tiny."""
    sweep = "-m" in tokens or any(t.startswith("hparams_search=") for t in tokens)
    tied = any(t.startswith("experiment=tang") for t in tokens)
    out = []
    for token in tokens:
        key, _, value = token.partition("=")
        if key == "trainer.devices":  # GPUs here are CPU processes
            out += ["trainer.accelerator=cpu", "trainer.devices=2"]
        elif token == "trainer=gpu":
            out.append("trainer=cpu")
        elif key == "hydra.launcher.partition" or key == "trainer.num_nodes":
            continue  # this machine is one node with one partition
        elif key == "optimizer" and "," in value:
            out.append(f"optimizer={','.join(value.split(',')[:2])}")  # two jobs show the sweep
        else:
            out.append(token)
    resumes = any(t.startswith("ckpt_path=") for t in tokens)  # the tiny run trained 1 epoch
    out += [*QUIET, f"trainer.max_epochs={2 if resumes else 1}",
            "trainer.limit_train_batches=2", "trainer.limit_val_batches=2", "logger=csv", f"paths.cache_dir={cache}",
            "model.embedding_dim=48" if tied else "model.embedding_dim=32", "model.hidden_size=48",
            f"hydra.sweep.dir={tmp / 'sweep'}" if sweep else f"hydra.run.dir={tmp / 'run'}"]
    if any(t.startswith("hydra/launcher=slurm") for t in tokens):
        out += ["hydra.launcher.mem_gb=1", "hydra.launcher.cpus_per_task=1"]
    if any(t.startswith("hparams_search=") for t in tokens):
        out += ["hydra.sweeper.n_trials=2"]
    return out


def argv_of(line: str, run: Path, tmp: Path, cache: Path) -> list[str]:
    line = re.sub(r"\s\[[^\]=]*=[^\]]*\]", "", line)  # `[trainer.num_nodes=2]`: optional, left out
    tokens = swap_placeholders(shlex.split(line), run, tmp)
    if tokens[:2] == ["python", "train.py"]:
        tokens = tokens[:2] + train_overrides(tokens[2:], tmp, cache)
    elif tokens[1:3] == ["-m", "lit_poetry"] and tokens[3] in ("evaluate", "stats"):
        tokens += [f"paths.cache_dir={cache}"]
    for name, flags in TINY_FLAGS.items():
        if name in tokens:
            tokens += shlex.split(flags)
    if "bench_generate.py" in line and "--ckpt" not in tokens:
        tokens += ["--ckpt", str(run / "checkpoints" / "best.ckpt")]
    return [sys.executable if t == "python" else t for t in tokens]


def run_app(argv: list[str], env: dict) -> None:
    """The page starts and serves: wait for its address, then stop it."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, seen = time.monotonic() + 120, []
    try:
        for line in proc.stdout:
            seen.append(line)
            if "http://127.0.0.1" in line or time.monotonic() > deadline:
                break
        assert any("http://127.0.0.1" in s for s in seen), "".join(seen)[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
@pytest.mark.parametrize("line", readme_lines())
def test_the_readme_command_runs(line, tiny_run, tmp_path, tmp_path_factory, data_dir):
    """One README line, run as a user would type it (plus the tiny overrides above)."""
    reason = next((why for prefix, why in NOT_RUN_HERE.items() if line.startswith(prefix)), None)
    if reason:
        pytest.skip(reason)
    needs_slurm = "slurm" in line or "sbatch" in line
    if needs_slurm and not slurm_up():
        pytest.skip("needs a SLURM that answers `sinfo` (CI starts one: sudo bash scripts/start_slurm.sh)")
    if "screenshot_app.py" in line and not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    cache = tmp_path_factory.getbasetemp() / "readme_cache"  # 全唐诗 is read once for all lines
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "WANDB_DIR": str(tmp_path), "LIT_POETRY_DATA": str(data_dir),
           "no_proxy": "127.0.0.1,localhost"}  # the page talks to itself; other http goes to a closed port
    if line.startswith("mkdir -p logs/slurm && sbatch"):
        argv = ["sbatch", "--parsable", "--cpus-per-task=1", f"--output={tmp_path}/slurm-%j.out",
                *train_overrides(shlex.split(line.split("&&")[1])[1:], tmp_path, cache)]
        argv = [a for a in argv if not a.startswith("hydra.run.dir=")]
        job = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**env, "PYTHON": sys.executable, "LIT_POETRY_RUN_DIR": str(tmp_path / "run")})
        wait_for_job(job.stdout.strip().split(";")[0])
        assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file(), \
            "".join(p.read_text() for p in tmp_path.glob("slurm-*.out"))[-3000:]
        return
    argv = argv_of(line, tiny_run, tmp_path, cache)
    if argv[1] == "app.py":  # the page serves until stopped
        return run_app(argv, env)
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    if argv[1:4] == ["-m", "lit_poetry", "metre"] and "violation" in result.stdout:  # the checker's verdict: 1
        assert result.returncode == 1 and "fix:" in result.stdout, result.stdout + result.stderr
        return
    assert result.returncode == 0, f"{shlex.join(argv)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"

"""What `python train.py` checks before Hydra writes or submits anything (configs/hydra/default.yaml):

- a run: the settings' ranges (settings.py), so that a refused rerun in an existing run folder
  (`optimizer.lr=nan hydra.run.dir=<run>`) leaves that run's .hydra/config.yaml and overrides.yaml as they were;
- a multirun under `hydra/launcher=slurm`: a job that no node of the partition can hold (SLURM would keep it
  PENDING for ever, without a word) is refused with what to change, before submitit submits it.

A refusal is one `error:` line and exit status 2, as everywhere. (Hydra turns an exception raised in a
callback into a warning and goes on, so a check that cannot decide, `trainer.devices=auto` say, leaves the
job to SLURM.)
"""

import re
import shutil
import subprocess
from dataclasses import dataclass

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lit_poetry.errors import LitPoetryError, exit_with_error
from lit_poetry.settings import check_settings


class CheckBeforeWriting(Callback):
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        try:
            check_settings(config)
        except LitPoetryError as error:
            exit_with_error(error)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        launcher = config.hydra.launcher
        if not str(launcher.get("_target_", "")).endswith(".SlurmLauncher"):
            return
        nodes = slurm_nodes(launcher.get("partition"))
        try:
            problem = nodes is not None and unstartable(launcher, nodes)
        except (TypeError, ValueError):  # sizes SLURM decides itself (trainer.devices=auto): its own answer
            return
        if problem:
            exit_with_error(LitPoetryError(problem))


@dataclass(frozen=True)
class Node:
    cpus: int
    mem_mb: int
    gpus: int


def slurm_nodes(partition: str | None) -> list[Node] | None:
    """The nodes of `partition` (of the default partition, marked * by sinfo, when None: where sbatch sends
    the job), as `sinfo` reports them; None where no SLURM answers (submitit's sbatch then says what is wrong)."""
    if shutil.which("sinfo") is None:
        return None
    command = ["sinfo", "-h", "-N", "-o", "%P|%N|%c|%m|%G", *(["-p", str(partition)] if partition else [])]
    try:
        listed = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    rows = [(line.split("|") + ["", "", "", ""])[:5] for line in listed.stdout.splitlines()]
    if not partition and any(part.endswith("*") for part, *_ in rows):
        rows = [row for row in rows if row[0].endswith("*")]
    nodes = {}  # a node in several partitions is listed once for each
    for _, name, cpus, mem, gres in rows:
        gpus = sum(int(n) for n in re.findall(r"gpu(?::[^:,(]+)?:(\d+)", gres))  # gpu:4, gpu:a100:4(S:0-1)
        nodes[name] = Node(int(re.sub(r"\D", "", cpus) or 0), int(re.sub(r"\D", "", mem) or 0), gpus)
    return list(nodes.values())


def unstartable(launcher: DictConfig, nodes: list[Node]) -> str | None:
    """Why no set of `nodes` can ever start the job the launcher config asks for, with the override that
    fixes it; None when enough nodes can."""
    where = f"partition {launcher.partition}" if launcher.get("partition") else "the default partition"
    tasks, per_task = int(launcher.get("tasks_per_node") or 1), int(launcher.get("cpus_per_task") or 1)
    mem_gb, gpus = launcher.get("mem_gb"), int(launcher.get("gpus_per_node") or 0)
    count = int(launcher.get("nodes") or 1)
    cpus = tasks * per_task
    if not nodes:
        return f"sinfo lists no node in {where}; give hydra.launcher.partition= a partition that `sinfo` lists"
    fitting = [n for n in nodes if n.cpus >= cpus and n.gpus >= gpus and (not mem_gb or n.mem_mb >= mem_gb * 1024)]
    if len(fitting) >= count:
        return None
    stuck = "SLURM would keep the job waiting for ever"
    if fitting:
        return (f"the SLURM job asks {count} nodes (trainer.num_nodes), and {where} has {len(fitting)} that can hold "
                f"its share: {stuck}; give trainer.num_nodes={len(fitting)}")
    most = max(n.cpus for n in nodes)
    if most < cpus:
        if most >= tasks:
            fix = f"hydra.launcher.cpus_per_task={most // tasks}"
        elif most >= per_task:
            fix = f"trainer.devices={most // per_task} or fewer (one task of {_count(per_task, 'CPU')} per device)"
        else:
            fix = f"trainer.devices={most} or fewer with hydra.launcher.cpus_per_task=1"
        asked = f"{_count(tasks, 'task')} x {_count(per_task, 'CPU')} = {_count(cpus, 'CPU')} on a node"
        return (f"the SLURM job asks {asked} (trainer.devices x hydra.launcher.cpus_per_task), and no node of "
                f"{where} has more than {most}: {stuck}; give {fix}")
    most_gb = max(n.mem_mb for n in nodes) // 1024
    if mem_gb and most_gb < mem_gb:
        return (f"the SLURM job asks hydra.launcher.mem_gb={mem_gb}, and no node of {where} has more than "
                f"{most_gb} GB: {stuck}; give hydra.launcher.mem_gb={most_gb} or less")
    most_gpus = max(n.gpus for n in nodes)
    if most_gpus < gpus:
        fix = f"trainer.devices={most_gpus} or fewer, or " if most_gpus else ""
        return (f"the SLURM job asks {gpus} GPUs on a node (trainer.devices), and no node of {where} has more than "
                f"{most_gpus}: {stuck}; give {fix}hydra.launcher.partition= a partition whose nodes have them")
    return (f"the SLURM job asks {cpus} CPUs, {mem_gb or 0} GB and {gpus} GPUs on one node, and no node of {where} "
            f"has them all: {stuck}; give hydra.launcher.partition= a partition whose nodes do, or ask for less")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"

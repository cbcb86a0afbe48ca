"""The `${lit_poetry.*:}` interpolations of configs/ (the W&B logger's mode and group, a SLURM job's GPUs),
registered by every command before its config is composed, and by `training.train` for configs composed
elsewhere (tests, notebooks); and the one question about Hydra's run they share: is this a sweep's job?"""

import os
from pathlib import Path

from lit_poetry.resources import user_cache_dir


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun (a sweep)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def gpus_per_node(accelerator: str, devices) -> int:
    """A SLURM job's GPUs per node from the trainer config (hydra/launcher/slurm.yaml): devices on GPU trainers."""
    return int(devices) if str(accelerator) in ("gpu", "cuda") and str(devices).isdigit() else 0


def wandb_offline() -> bool:
    """W&B runs offline unless WANDB_MODE=online, or an API key is configured (`wandb login`)."""
    mode = os.environ.get("WANDB_MODE", "")
    if mode in ("offline", "disabled", "dryrun"):
        return True
    if mode == "online" or os.environ.get("WANDB_API_KEY"):
        return False
    netrc = Path.home() / ".netrc"  # where `wandb login` keeps the key
    return not (netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore"))


def wandb_group() -> str:
    """The W&B group of a run: its sweep's folder name in a multirun (one W&B run per job, grouped by
    sweep), none for a single run."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().sweep.dir).name if in_multirun() else ""


def cache_dir() -> str:
    """paths.cache_dir's default: resources.user_cache_dir()."""
    return str(user_cache_dir())


def register_resolvers() -> None:
    """Register the interpolations (again: replacing is harmless)."""
    from omegaconf import OmegaConf

    for name, resolver in [("gpus_per_node", gpus_per_node), ("wandb_offline", wandb_offline),
                           ("wandb_group", wandb_group), ("cache_dir", cache_dir)]:
        OmegaConf.register_new_resolver(f"lit_poetry.{name}", resolver, replace=True)

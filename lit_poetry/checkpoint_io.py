"""How training writes its checkpoints (a Lightning CheckpointIO plugin; training.py puts it in place)."""

import io
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lit_poetry.checkpoint import read_checkpoint
from lit_poetry.errors import LitPoetryError
from lit_poetry.resources import atomic_path


class SameFolderCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their target and renamed into place: Lightning's own writer stages each
    one in the system temp folder and moves it (a copy across filesystems, and ENOSPC on small node-local
    /tmp folders). A failed write leaves the previous checkpoint as it was and is one clear error.
    Read back as generate.py reads them (`read_checkpoint`): weights only, whatever the environment says."""

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return read_checkpoint(path)

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                f.write(buffer.getbuffer())
        except OSError as error:
            raise LitPoetryError(f"could not write checkpoint {path} ({error.strerror}): it needs "
                                 f"{buffer.getbuffer().nbytes / 2**20:.0f} MB in {path.parent}; the checkpoints "
                                 "already there are intact (free space, or set hydra.run.dir elsewhere)") from None

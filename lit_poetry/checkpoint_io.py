"""How training writes its checkpoints (a Lightning CheckpointIO plugin; training.py puts it in place)."""

import io
import os
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lit_poetry.checkpoint import read_checkpoint
from lit_poetry.errors import LitPoetryError


class SameFolderCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their target and renamed into place: Lightning's own writer stages each
    one in the system temp folder and moves it (a copy across filesystems, and ENOSPC on small node-local
    /tmp folders). A failed write leaves the previous checkpoint as it was and is one clear error.
    Read back as generate.py reads them (`read_checkpoint`): weights only, whatever the environment says."""

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return read_checkpoint(path)

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(buffer.getbuffer())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic within one filesystem
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise LitPoetryError(f"could not write checkpoint {path} ({error.strerror}): it needs "
                                 f"{buffer.getbuffer().nbytes / 2**20:.0f} MB in {path.parent}; the checkpoints "
                                 "already there are intact (free space, or set hydra.run.dir elsewhere)") from None

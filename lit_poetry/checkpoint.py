"""Load a PoetryLM and its vocabulary from a Lightning checkpoint, without importing Lightning."""

from dataclasses import dataclass
from pathlib import Path

import torch

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.models.poetry_lm import PoetryLM


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise LitPoetryError(f"device='{device}' is not a device name; use auto, cpu or cuda[:N]") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LitPoetryError(f"device='{device}' but no CUDA GPU is available; use device=cpu")
    return dev


@dataclass
class Trained:
    model: PoetryLM  # eval mode, on the requested device
    vocab: Vocabulary
    data: dict | None  # the processing settings of its training data (None in checkpoints before they were kept)


def load_poetry_lm(path: str | Path, device: str | torch.device = "cpu") -> tuple[PoetryLM, Vocabulary]:
    """The model (eval mode, on `device`) and vocabulary saved by PoetryLitModule's checkpoint."""
    trained = load_trained(path, device)
    return trained.model, trained.vocab


def load_trained(path: str | Path, device: str | torch.device = "cpu") -> Trained:
    """Model, vocabulary and data settings of a PoetryLitModule checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise LitPoetryError(f"checkpoint {path} not found; train one with `python train.py` "
                             "(it writes <run dir>/checkpoints/best.ckpt and last.ckpt)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors and containers only
    except Exception as e:
        raise LitPoetryError(f"{path} is not a lit-poetry checkpoint (torch.load failed: "
                             f"{str(e).splitlines()[0][:200]})") from None
    hparams = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if not {"vocab", "model"} <= hparams.keys() or "state_dict" not in ckpt:
        raise LitPoetryError(f"{path} is not a lit-poetry checkpoint (no vocabulary and model settings in it)")
    vocab = Vocabulary.from_dict(hparams["vocab"])
    model = PoetryLM(len(vocab), **hparams["model"])
    weights = {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    model.load_state_dict(weights)
    model = model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return Trained(model, vocab, hparams.get("data"))

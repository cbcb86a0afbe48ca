"""Load a network and its vocabulary from a Lightning checkpoint or an export, without importing Lightning."""

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.models.base import LanguageModel
from lit_poetry.models.build import build_network
from lit_poetry.models.quantize import import_weights
from lit_poetry.resources import SHIPPED_MODEL


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
    model: LanguageModel  # eval mode, on the requested device
    vocab: Vocabulary
    data: dict | None  # the processing settings of its training data (None in checkpoints before they were kept)
    card: dict | None = None  # an export's description: name, training command, val perplexity


def load_poetry_lm(path: str | Path, device: str | torch.device = "cpu") -> tuple[LanguageModel, Vocabulary]:
    """The model (eval mode, on `device`) and vocabulary saved by PoetryLitModule's checkpoint."""
    trained = load_trained(path, device)
    return trained.model, trained.vocab


def read_checkpoint(path: str | Path) -> dict:
    """The contents of a lit-poetry file (a training checkpoint or an export), checked: one clear error
    for a missing, damaged or foreign file. Weights only, always: the explicit `weights_only=True` is the
    one setting that TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD does not override, so no file runs code here."""
    path = Path(path)
    if path.is_dir():  # a run folder, or a folder of runs (logs/train/runs): not deeper, never the whole disk
        found = [f for pattern in ("checkpoints/*.ckpt", "*/checkpoints/*.ckpt") for f in path.glob(pattern)
                 if f.is_file()]
        example = max(found, key=lambda f: f.stat().st_mtime) if found else path / "checkpoints" / "best.ckpt"
        raise LitPoetryError(f"ckpt_path={path} is a folder; give a checkpoint file"
                             f"{' under it' if found else ''}, such as {example}")
    if not path.is_file():
        raise LitPoetryError(f"checkpoint {path} not found; train one with `python train.py` "
                             "(it writes <run dir>/checkpoints/best.ckpt and last.ckpt)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors and containers only
    except Exception as e:
        raise LitPoetryError(f"{path} is not a lit-poetry checkpoint ({load_failure(path, e)})") from None
    hparams = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if not {"vocab", "model"} <= hparams.keys() or not ({"state_dict", "weights"} & ckpt.keys()):
        raise LitPoetryError(f"{path} is not a lit-poetry checkpoint (no vocabulary and model settings in it)")
    return ckpt


def load_failure(path: Path, error: Exception) -> str:
    """Why torch.load refused a file, in a reader's words (torch's own text quotes pickle opcodes, or
    advises turning the weights-only protection off, which lit-poetry never does)."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if not magic:
        return "the file is empty"
    if magic != b"PK" and magic[:1] != b"\x80":  # a torch file is a zip archive, or a pickle from torch < 1.6
        return "it is not a file torch saved"
    if isinstance(error, EOFError) or "EOF" in str(error) or "central directory" in str(error):
        return "the file ends early: a write cut short"
    if "Weights only load failed" in str(error):
        return "it holds objects other than tensors and plain containers, and lit-poetry loads weights only"
    return f"torch.load failed: {(str(error).splitlines() or [type(error).__name__])[0][:200]}"


def net_weights(ckpt: dict) -> dict:
    """The network's state dict inside a training checkpoint (the LightningModule keeps it under `net.`)."""
    return {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}


def load_trained(path: str | Path, device: str | torch.device = "cpu") -> Trained:
    """Model, vocabulary and data settings of a PoetryLitModule checkpoint or of an export (export.py)."""
    ckpt = read_checkpoint(path)
    hparams = ckpt["hyper_parameters"]
    vocab = Vocabulary.from_dict(hparams["vocab"])
    model = build_network(hparams["model"], len(vocab))  # its class from `_target_` (or an old `impl`)
    # an export: int8 weights back to fp32
    model.load_state_dict(import_weights(ckpt["weights"]) if "weights" in ckpt else net_weights(ckpt))
    model = model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return Trained(model, vocab, hparams.get("data"), ckpt.get("card"))


def load_for_use(ckpt_path: str | None, device: str | torch.device = "cpu") -> Trained:
    """`ckpt_path`, or without one the model that ships with the package, said in one line on stderr."""
    if ckpt_path:
        return load_trained(ckpt_path, device)
    if not SHIPPED_MODEL.is_file():
        raise LitPoetryError(f"no model ships with this install ({SHIPPED_MODEL} is missing): give a checkpoint, "
                             "ckpt_path=<run dir>/checkpoints/best.ckpt")
    trained = load_trained(SHIPPED_MODEL, device)
    card = trained.card or {}
    print(f"model: {card.get('name', SHIPPED_MODEL.name)}, the one shipped with lit-poetry (trained by "
          f"`{card.get('command', '?')}`, val perplexity {card.get('val_ppl', '?')}); ckpt_path=... for your own",
          file=sys.stderr)
    return trained

"""A trained checkpoint as a small file to ship and generate from: int8 weights with one scale per
output unit, read back into fp32 at load (lit_poetry/checkpoint.py reads both kinds of file).

    python -m lit_poetry export ckpt_path=logs/tang_best/checkpoints/best.ckpt out=tang.pt \
        card.name=tang-768 card.command="python train.py experiment=tang_best" card.val_ppl=79.9

The file keeps what a checkpoint keeps for generation (vocabulary, model and data settings) and drops
the optimizer, the schedule and the loops: 9.0M parameters take 9 MB instead of 108 MB. It loads with
`torch.load(weights_only=True)`. Tied weights (embedding = output layer) are stored once.
"""

import torch

from lit_poetry.checkpoint import net_weights, read_checkpoint
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.models.build import build_network
from lit_poetry.models.quantize import FORMAT, export_weights


def export(ckpt_path: str, out: str, card: dict) -> None:
    """Write the shipped form of a training checkpoint to `out`, with `card` (name, command, val_ppl)."""
    ckpt = read_checkpoint(ckpt_path)
    if "state_dict" not in ckpt:
        raise LitPoetryError(f"{ckpt_path} is already an export; give the training checkpoint it came from")
    hparams = {k: ckpt["hyper_parameters"][k] for k in ("vocab", "model", "data") if k in ckpt["hyper_parameters"]}
    network = build_network(hparams["model"], len(Vocabulary.from_dict(hparams["vocab"])))  # knows its weights' axes
    torch.save({"format": FORMAT, "hyper_parameters": hparams, "card": card,
                "weights": export_weights(net_weights(ckpt), network.quantize_dim)}, out)

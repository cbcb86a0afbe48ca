"""A trained checkpoint as a small file to ship and generate from: int8 weights with one scale per
output unit, read back into fp32 at load (lit_poetry/checkpoint.py reads both kinds of file).

    python -m lit_poetry.export ckpt_path=logs/tang_best/checkpoints/best.ckpt out=tang.pt \
        name=tang-768 command="python train.py experiment=tang_best" val_ppl=79.9

The file keeps what a checkpoint keeps for generation (vocabulary, model and data settings) and drops
the optimizer, the schedule and the loops: 9.0M parameters take 9 MB instead of 108 MB. It loads with
`torch.load(weights_only=True)`. Tied weights (embedding = output layer) are stored once.
"""

import torch

FORMAT = "lit-poetry-export/1"


def quantize(weight: torch.Tensor, dim: int) -> dict[str, torch.Tensor]:
    """Symmetric int8 with one fp32 scale per slice along `dim` (the max |w| over the other dimension)."""
    reduce = 1 - dim  # 2-D weights: the scale covers one row (dim 0) or one column (dim 1)
    scale = weight.abs().amax(dim=reduce, keepdim=True).clamp_min(1e-12) / 127
    return {"int8": torch.round(weight / scale).to(torch.int8), "scale": scale.float()}


def dequantize(packed: dict[str, torch.Tensor]) -> torch.Tensor:
    return packed["int8"].float() * packed["scale"]


def scale_dim(name: str) -> int:
    """The output units of a weight: columns of the LSTM's (input, 4H) weights, rows of (V, E) and (V, H)."""
    return 1 if ".weight_x." in name or ".weight_h." in name else 0


def export_weights(state_dict: dict[str, torch.Tensor]) -> dict:
    """{"int8": {name: {int8, scale}}, "float": {name: fp32 tensor}, "same_as": {name: stored name}}."""
    stored: dict[int, str] = {}
    packed = {"int8": {}, "float": {}, "same_as": {}}
    for name, tensor in state_dict.items():
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if key in stored:  # a tied weight: stored once
            packed["same_as"][name] = stored[key]
            continue
        stored[key] = name
        if tensor.dim() == 2 and tensor.is_floating_point():
            packed["int8"][name] = quantize(tensor.float(), scale_dim(name))
        else:  # biases: few and sensitive, kept as they are
            packed["float"][name] = tensor.float()
    return packed


def import_weights(packed: dict) -> dict[str, torch.Tensor]:
    """The fp32 state dict of `export_weights`' output."""
    weights = {name: dequantize(q) for name, q in packed["int8"].items()}
    weights.update(packed["float"])
    weights.update({name: weights[source] for name, source in packed["same_as"].items()})
    return weights


def export(ckpt_path: str, out: str, card: dict) -> dict:
    """Write the shipped form of a training checkpoint to `out`; returns what it wrote besides weights."""
    from lit_poetry.checkpoint import read_checkpoint

    ckpt = read_checkpoint(ckpt_path)
    weights = {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    hparams = {k: ckpt["hyper_parameters"][k] for k in ("vocab", "model", "data") if k in ckpt["hyper_parameters"]}
    saved = {"format": FORMAT, "hyper_parameters": hparams, "card": card, "weights": export_weights(weights)}
    torch.save(saved, out)
    return {"format": FORMAT, "card": card}


if __name__ == "__main__":
    from lit_poetry.commands import export_model

    export_model()

"""int8 weights with one scale per output unit, for the shipped model (lit_poetry/export.py writes them,
lit_poetry/checkpoint.py reads them back into fp32). Tied weights are stored once."""

from collections.abc import Callable

import torch

FORMAT = "lit-poetry-export/1"


def quantize(weight: torch.Tensor, dim: int) -> dict[str, torch.Tensor]:
    """Symmetric int8 with one fp32 scale per slice along `dim` (the max |w| over the other dimension)."""
    reduce = 1 - dim  # 2-D weights: the scale covers one row (dim 0) or one column (dim 1)
    scale = weight.abs().amax(dim=reduce, keepdim=True).clamp_min(1e-12) / 127
    return {"int8": torch.round(weight / scale).to(torch.int8), "scale": scale.float()}


def dequantize(packed: dict[str, torch.Tensor]) -> torch.Tensor:
    return packed["int8"].float() * packed["scale"]


def export_weights(state_dict: dict[str, torch.Tensor], scale_dim: Callable[[str], int]) -> dict:
    """{"int8": {name: {int8, scale}}, "float": {name: fp32 tensor}, "same_as": {name: stored name}};
    `scale_dim(name)`: the axis of that weight holding output units (the network's `quantize_dim`)."""
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

"""Mixed precision for the hand-written Functions: which autocast device a tensor is on, which dtype its
matmuls run in."""

import torch


def device_type(t: torch.Tensor) -> str:
    """The autocast device type of a tensor (autocast knows cpu and cuda)."""
    return t.device.type if t.device.type in ("cuda", "cpu") else "cpu"


def matmul_dtype(t: torch.Tensor, default: torch.dtype) -> torch.dtype:
    """The dtype matmuls on `t` run in: autocast's dtype where autocast is on, else `default`.

    The hand-written Functions switch autocast off inside and cast explicitly, so that only the matmuls
    run in low precision and the state and softmax stay fp32."""
    device = device_type(t)
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else default

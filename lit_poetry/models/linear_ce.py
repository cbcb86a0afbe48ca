"""Output layer + cross-entropy in one autograd.Function, for training steps.

The output layer is most of a training step (N x H x V with V ~ 5.5k). Done as separate ops, autograd
materialises fp32 logits, a log-softmax, its backward, a zero-filled one-hot scatter and a dtype cast
of the gradient. Here the forward computes the loss and, in the same pass over each chunk of rows,
the gradient of the logits (softmax - one-hot) and its column sums (the bias gradient), so backward is
just two GEMMs.
Under autocast the matmuls run in the autocast dtype and the softmax in fp32, one chunk of rows at a
time: CHUNK_ROWS rows of fp32 logits (128 x 5.5k x 4 B = 2.8 MB) stay in cache between the softmax's
passes instead of going out to memory and back.

The number of rows N (the batch's non-padding targets) is different in nearly every batch; oneDNN
compiles and caches a kernel per matmul shape (bf16), so the rows are padded with zeros to a multiple
of ROW_MULTIPLE: a few dozen shapes over a whole training run instead of one per batch.
"""

import torch

from lit_poetry.models import gemm
from lit_poetry.models.precision import device_type, matmul_dtype

CHUNK_ROWS = 128  # rows of logits alive at once: 2.8 MB of fp32, kept in cache (a multiple of ROW_MULTIPLE)
ROW_MULTIPLE = 64  # rows are padded to a multiple of this: bounded matmul shapes, at most 63 idle rows


def pad_rows(x: torch.Tensor, multiple: int = ROW_MULTIPLE) -> torch.Tensor:
    """x (N, ...) -> (N', ...) with N' the next multiple of `multiple`, the new rows zero."""
    missing = -x.shape[0] % multiple
    return torch.cat([x, x.new_zeros(missing, *x.shape[1:])]) if missing else x


class LinearCrossEntropy(torch.autograd.Function):
    """mean_n CE(h_n W^T + b, y_n) for h (N, H), W (V, H), b (V,), y (N,) int."""

    @staticmethod
    def forward(ctx, h, weight, bias, target, route="auto"):
        mm_dtype = matmul_dtype(h, weight.dtype)
        ctx.route = route
        with torch.autocast(device_type(h), enabled=False):
            N = h.shape[0]
            h_mm, w_mm, b_mm = pad_rows(h.to(mm_dtype)), weight.to(mm_dtype), bias.to(mm_dtype)  # (N', H)
            need_grad = any(ctx.needs_input_grad[:3])
            acc_dtype = torch.float64 if mm_dtype == torch.float64 else torch.float32  # softmax and sums
            dlogits = h_mm.new_empty(h_mm.shape[0], weight.shape[0]) if need_grad else None  # (N', V)
            db = h.new_zeros(weight.shape[0], dtype=acc_dtype) if need_grad else None  # (V,): summed in cache
            if need_grad:
                dlogits[N:] = 0  # the padding rows: no loss, no gradient
            total = torch.zeros((), dtype=acc_dtype, device=h.device)
            for s in range(0, N, CHUNK_ROWS):
                # the chunk's padded rows go through the matmul (a multiple of ROW_MULTIPLE), not the softmax
                logits = gemm.linear(h_mm[s : s + CHUNK_ROWS], w_mm, b_mm, route)[: N - s]  # (n, V), matmul dtype
                rows = slice(s, s + len(logits))
                y = target[rows, None]  # (n, 1)
                log_probs = torch.log_softmax(logits, dim=1, dtype=acc_dtype)  # (n, V): one fused kernel
                total -= log_probs.gather(1, y).sum()
                if need_grad:
                    probs = log_probs.exp_()  # (n, V): the softmax, in place
                    probs.scatter_add_(1, y, torch.full_like(y, -1, dtype=probs.dtype))  # - one-hot
                    dlogits[rows] = probs  # rounded to the matmul dtype once, after the subtraction
                    db += probs.sum(0)  # the bias gradient: no second pass over dlogits in backward
            ctx.save_for_backward(h_mm, w_mm, dlogits, db)
            ctx.dtypes, ctx.rows = (h.dtype, weight.dtype, bias.dtype), N
            return total / N

    @staticmethod
    def backward(ctx, grad_loss):
        h_mm, w_mm, dlogits, db = ctx.saved_tensors
        scale = grad_loss / ctx.rows  # d mean / d sum
        with torch.autocast(device_type(h_mm), enabled=False):
            dh = gemm.mm(dlogits, w_mm, ctx.route)[: ctx.rows].to(ctx.dtypes[0]) * scale  # (N, H)
            dw = torch.mm(dlogits.t(), h_mm).to(ctx.dtypes[1]) * scale  # (V, H)
            db = db.to(ctx.dtypes[2]) * scale  # (V,)
        return dh, dw, db, None, None


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                         target: torch.Tensor, route: str = "auto") -> torch.Tensor:
    """Equals F.cross_entropy(F.linear(h, weight, bias), target) (mean over rows), computed faster;
    `route`: gemm.py's, for the fp32 matmuls."""
    return LinearCrossEntropy.apply(h, weight, bias, target, route)

"""Numerical gradient check of the NumPy LSTM LM's hand-derived backward pass (float64, centered differences).

    python -m lit_poetry.numpy_lstm.gradcheck                       # defaults below
    python -m lit_poetry.numpy_lstm.gradcheck --layers 2 --tie --samples 10 --seed 1

Prints (parameter, index, numeric, analytic, relative error) for a sample of entries of every parameter
tensor, then the average and maximum relative error; exits 1 when the average is above --tol.
"""

import argparse
import sys

import numpy as np

from lit_poetry.cli import guarded
from lit_poetry.numpy_lstm.model import NumpyLSTMLM


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a) + abs(b), 1e-12)


def numeric_derivative(model: NumpyLSTMLM, flat: np.ndarray, k: int, inputs, targets, eps: float) -> float:
    """d loss / d flat[k] by the five-point centered difference (truncation error O(eps⁴), not O(eps²))."""
    old = flat[k]
    losses = []
    for delta in (eps, -eps, 2 * eps, -2 * eps):
        flat[k] = old + delta
        losses.append(model.loss_and_grads(inputs, targets, need_grads=False)[0])
    flat[k] = old
    return (8 * (losses[0] - losses[1]) - (losses[2] - losses[3])) / (12 * eps)


def gradient_check(model: NumpyLSTMLM, inputs, targets, samples: int = 5, eps: float = 3e-3, seed: int = 0):
    """Rows (name, index, numeric, analytic, relative error) for `samples` entries of each parameter."""
    rng = np.random.default_rng(seed)
    _, grads = model.loss_and_grads(inputs, targets)
    rows = []
    for name, param in model.params.items():
        flat = param.reshape(-1)  # a view: perturbing it perturbs the parameter
        if name == "embedding":  # rows of characters that occur, or the check would see only zeros
            used = np.unique(inputs)
            cols = rng.integers(0, param.shape[1], samples)
            picks = [int(r) * param.shape[1] + int(c) for r, c in zip(rng.choice(used, samples), cols)]
        else:
            picks = rng.choice(flat.size, min(samples, flat.size), replace=False).tolist()
        for k in picks:
            numeric = numeric_derivative(model, flat, k, inputs, targets, eps)
            analytic = float(grads[name].reshape(-1)[k])
            rows.append((name, np.unravel_index(k, param.shape), numeric, analytic, relative_error(numeric, analytic)))
    return rows


@guarded
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=30)
    ap.add_argument("--embed", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=10)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=7)
    ap.add_argument("--tie", action="store_true", help="tie the output layer to the embedding (needs embed=hidden)")
    ap.add_argument("--samples", type=int, default=5, help="entries checked per parameter tensor")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-7, help="maximum average relative error")
    args = ap.parse_args(argv)

    model = NumpyLSTMLM(args.vocab, args.embed, args.hidden, args.layers, tie_weights=args.tie, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    inputs = rng.integers(1, args.vocab, (args.batch, args.seq))
    targets = rng.integers(1, args.vocab, (args.batch, args.seq))
    targets[0, args.seq // 2 :] = model.pad_id  # a padded row, as in real batches
    rows = gradient_check(model, inputs, targets, args.samples, seed=args.seed)

    print(f"{'parameter':<12} {'index':<12} {'numeric':>16} {'analytic':>16} {'rel. error':>10}")
    for name, index, numeric, analytic, err in rows:
        print(f"{name:<12} {str(tuple(map(int, index))):<12} {numeric:>16.9e} {analytic:>16.9e} {err:>10.2e}")
    errors = np.array([r[-1] for r in rows])
    print(f"\n{len(rows)} entries of {len(model.params)} parameter tensors: "
          f"average relative error {errors.mean():.2e}, maximum {errors.max():.2e} (tolerance {args.tol:g})")
    return int(errors.mean() > args.tol)


if __name__ == "__main__":
    sys.exit(main())

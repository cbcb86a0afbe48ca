"""Numerical gradient check of the NumPy LSTM LM's hand-derived backward pass (float64, centered
differences; lit_poetry/numpy_lstm/gradcheck.py).

    python -m lit_poetry gradcheck                              # defaults below
    python -m lit_poetry gradcheck layers=2 tie=true samples=10 seed=1

Prints (parameter, index, numeric, analytic, relative error) for a sample of entries of every parameter
tensor, then the average and maximum relative error; exits 1 when the average is above tol.
"""


import numpy as np

from lit_poetry.cli import KeyValueParser, guarded, parse_arguments
from lit_poetry.numpy_lstm.gradcheck import gradient_check
from lit_poetry.numpy_lstm.model import NumpyLSTMLM


@guarded
def main(argv=None) -> int:
    ap = KeyValueParser(description=__doc__)
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
    args = parse_arguments(ap, argv)

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

"""Numerical gradient check of the NumPy LSTM LM's hand-derived backward pass (float64, centered differences):
(parameter, index, numeric, analytic, relative error) for a sample of entries of every parameter tensor.
The command is `python -m lit_poetry gradcheck` (lit_poetry/commands/gradcheck.py).
"""

import numpy as np

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

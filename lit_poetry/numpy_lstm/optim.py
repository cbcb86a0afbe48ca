"""SGD, momentum, Adagrad, RMSprop and Adam over NumPy arrays, defined exactly as torch.optim defines them
(defaults included), so that the same gradients give the same parameters."""

import numpy as np


class Optimizer:
    def __init__(self, params: dict[str, np.ndarray], lr: float):
        self.params, self.lr = params, lr
        self.state: dict[str, dict] = {name: {} for name in params}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        for name, g in grads.items():
            self.params[name] -= self.update(g, self.state[name])

    def update(self, g: np.ndarray, state: dict) -> np.ndarray:
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g"""

    def update(self, g, state):
        return self.lr * g


class Momentum(Optimizer):
    """torch.optim.SGD(momentum=μ): buf = g on the first step, then buf = μ·buf + g; p -= lr * buf"""

    def __init__(self, params, lr: float, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = momentum

    def update(self, g, state):
        state["buf"] = g.copy() if "buf" not in state else self.momentum * state["buf"] + g
        return self.lr * state["buf"]


class Adagrad(Optimizer):
    """sum += g²; p -= lr * g / (√sum + eps)   (torch defaults: eps 1e-10, no lr decay)"""

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10):
        super().__init__(params, lr)
        self.eps = eps

    def update(self, g, state):
        state["sum"] = state.get("sum", 0.0) + g * g
        return self.lr * g / (np.sqrt(state["sum"]) + self.eps)


class RMSprop(Optimizer):
    """v = α·v + (1-α)·g²; p -= lr * g / (√v + eps)"""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def update(self, g, state):
        state["v"] = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * g * g
        return self.lr * g / (np.sqrt(state["v"]) + self.eps)


class Adam(Optimizer):
    """m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps).

    eps is added outside the square root, as torch.optim.Adam does (report 000 writes √(v̂ + eps))."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def update(self, g, state):
        t = state["t"] = state.get("t", 0) + 1
        state["m"] = self.beta1 * state.get("m", 0.0) + (1 - self.beta1) * g
        state["v"] = self.beta2 * state.get("v", 0.0) + (1 - self.beta2) * g * g
        denom = np.sqrt(state["v"]) / np.sqrt(1 - self.beta2**t) + self.eps
        return self.lr / (1 - self.beta1**t) * state["m"] / denom


# names match configs/optimizer/*.yaml, whose settings the NumPy training loop reads
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}

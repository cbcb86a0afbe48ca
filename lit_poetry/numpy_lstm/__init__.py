"""The NumPy twin: LSTM language model with hand-derived BPTT, gradient check, NumPy optimizers."""

from lit_poetry.numpy_lstm.model import NumpyLSTMLM
from lit_poetry.numpy_lstm.optim import OPTIMIZERS

__all__ = ["NumpyLSTMLM", "OPTIMIZERS"]

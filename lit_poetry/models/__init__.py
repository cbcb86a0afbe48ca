"""The language model: LSTM layers (autograd and fused), the output layer + loss, PoetryLM."""

from lit_poetry.models.poetry_lm import PoetryLM

__all__ = ["PoetryLM"]

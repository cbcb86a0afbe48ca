"""lit-poetry: a character-level LSTM language model of Tang poetry."""

from lit_poetry.errors import LitPoetryError

__all__ = ["LitPoetryError"]
__version__ = "0.1.0"

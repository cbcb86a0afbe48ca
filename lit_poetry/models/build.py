"""A network from its config: `_target_` (a LanguageModel class of lit_poetry.models) and its keyword
arguments, as configs/model/*.yaml give them and every checkpoint keeps them (hyper_parameters.model).

    net = build_network({"_target_": "lit_poetry.models.lstm_lm.FusedLSTMLM", "hidden_size": 768}, len(vocab))

Only classes under lit_poetry.models are built: a checkpoint is data, and its `_target_` must not import
whatever it names. Checkpoints from before networks had targets name an `impl` instead (network_config).
"""

import importlib
import re

from lit_poetry.errors import LitPoetryError
from lit_poetry.models.base import LanguageModel

PACKAGE = "lit_poetry.models."
# checkpoints before `_target_`: model.impl chose the LSTM, and every LSTM took the fused backend's settings
LEGACY_IMPL = {"autograd": "lstm_lm.LSTMLM", "fused": "lstm_lm.FusedLSTMLM", "torch": "lstm_lm.TorchLSTMLM"}
FUSED_ONLY = ("step_kernel",)


def network_config(model: dict) -> dict:
    """The config with its `_target_`: as it is, or translated from a checkpoint that names an `impl`."""
    if "_target_" in model:
        return dict(model)
    model = dict(model)
    impl = model.pop("impl", "autograd")
    if impl not in LEGACY_IMPL:
        raise LitPoetryError(f"model.impl={impl} is not one of {', '.join(LEGACY_IMPL)}")
    if impl != "fused":
        for key in FUSED_ONLY:
            model.pop(key, None)
    return {"_target_": PACKAGE + LEGACY_IMPL[impl], **model}


def network_class(target: str) -> type[LanguageModel]:
    """The LanguageModel class `target` names, refused unless it is one of lit_poetry.models."""
    module, _, name = target.rpartition(".")
    cls = None
    if target.startswith(PACKAGE) and module:
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, LanguageModel)) or cls is LanguageModel:
        raise LitPoetryError(f"model._target_={target} is not a network of lit-poetry; name a LanguageModel "
                             f"class under {PACKAGE.rstrip('.')}, as configs/model/*.yaml do (model=lstm, "
                             "model=fused_lstm, model=transformer)")
    return cls


def build_network(model: dict, vocab_size: int) -> LanguageModel:
    """The network `model` describes (its `_target_` and keyword arguments), for `vocab_size` characters."""
    config = network_config(model)
    cls = network_class(config.pop("_target_"))
    try:
        return cls(vocab_size, **config)
    except TypeError as e:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(e))
        if not unknown:
            raise
        raise LitPoetryError(f"model.{unknown[1]} is not a setting of {cls.__name__}; see its config under "
                             "configs/model/ for the settings it takes") from None

"""The package homes of the top-level scripts (`train.py`, `generate.py`, `app.py`) and their console
scripts (`lit-poetry-train`, `lit-poetry-generate`, `lit-poetry-app`). The other commands keep their
`main` beside their code: `lit_poetry.evaluate`, `lit_poetry.data` (statistics), `lit_poetry.plotting`,
`lit_poetry.data.download`.

Only Hydra is imported here: Lightning and torch load inside the commands, after the command line has
been parsed, so `--help` answers at once and generation never imports Lightning.
"""

import json
import math
import sys

from omegaconf import DictConfig, ListConfig

from lit_poetry.cli import hydra_command
from lit_poetry.errors import LitPoetryError
from lit_poetry.settings import check_settings


@hydra_command("train")
def train(cfg: DictConfig) -> float | None:
    from lit_poetry.training import train as fit

    best = fit(cfg).get("val/ppl_best")  # the value a Hydra sweeper minimises
    return best if best is None or math.isfinite(best) else math.inf  # sweepers refuse NaN


def as_starts(start) -> list[str]:
    if start is None:
        return []
    return [str(s) for s in start] if isinstance(start, ListConfig | list | tuple) else [str(start)]


def as_metre(value) -> str:
    """`metre=off` may reach us as False (YAML 1.1 reads off as a boolean)."""
    return "off" if value is False or value is None else str(value)


@hydra_command("generate")
def generate(cfg: DictConfig) -> None:
    check_settings(cfg)
    if cfg.output not in ("text", "json"):
        raise LitPoetryError(f"output='{cfg.output}' is not one of text, json")
    from lit_poetry.checkpoint import load_for_use
    from lit_poetry.generation import in_script, lines_in, notes_of, sample

    in_script([], cfg.script)  # a bad script name fails before the model loads
    trained = load_for_use(cfg.ckpt_path, cfg.device)  # without ckpt_path: the shipped model
    model, vocab = trained.model, trained.vocab
    poems = sample(model, vocab, as_starts(cfg.start), cfg.num_samples, acrostic=str(cfg.acrostic or ""),
                   form=cfg.form, prefix=str(cfg.prefix or ""), temperature=cfg.temperature, top_k=cfg.top_k,
                   top_p=cfg.top_p, max_len=cfg.max_len, seed=cfg.seed, metre=as_metre(cfg.metre),
                   rhyme=bool(cfg.rhyme), rhyme_group=str(cfg.rhyme_group) if cfg.rhyme_group else None)
    poems = in_script(poems, cfg.script)
    for note in notes_of(poems):  # converted input, and where a dead end loosened the metre (the JSON has both)
        print(note, file=sys.stderr)
    if cfg.output == "json":
        print(json.dumps(poems, ensure_ascii=False))
    else:
        print("\n\n".join("\n".join(lines_in(p, cfg.script)) for p in poems))


@hydra_command("app")
def app(cfg: DictConfig) -> None:
    check_settings(cfg)
    try:
        from lit_poetry.app import serve
    except ModuleNotFoundError as e:
        raise LitPoetryError(f"the page needs Gradio ({e}): pip install -e \".[web]\"") from None
    serve(cfg)

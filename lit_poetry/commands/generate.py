"""`python generate.py ...` (installed: `lit-poetry-generate`, or `python -m lit_poetry generate ...`): poems
from a checkpoint, or from the model that ships with the package. Run commands: generate.py's docstring.

Only Hydra is imported at start: torch and the model load after the command line is parsed, so `--help`
answers at once, and Lightning is never imported on the way to the first poem.
"""

import sys

from omegaconf import DictConfig, ListConfig

from lit_poetry.cli import hydra_command
from lit_poetry.console import print_json, print_text
from lit_poetry.errors import LitPoetryError
from lit_poetry.settings import MAX_POEMS, check_settings


def as_starts(start) -> list[str]:
    if start is None:
        return []
    return [str(s) for s in start] if isinstance(start, ListConfig | list | tuple) else [str(start)]


def as_metre(value) -> str:
    """`metre=off` may reach us as False (YAML 1.1 reads off as a boolean)."""
    return "off" if value is False or value is None else str(value)


@hydra_command("generate")
def main(cfg: DictConfig) -> None:
    check_settings(cfg)
    if cfg.output not in ("text", "json"):
        raise LitPoetryError(f"output='{cfg.output}' is not one of text, json")
    from lit_poetry.checkpoint import load_for_use
    from lit_poetry.generation import guidance_for, in_script, lines_in, notes_of, sample, title_in
    from lit_poetry.text import title_header

    in_script([], cfg.script)  # a bad script name fails before the model loads
    starts = as_starts(cfg.start)
    if len(starts) * cfg.num_samples > MAX_POEMS:  # num_samples alone is bounded by check_settings
        raise LitPoetryError(f"{len(starts)} start words x num_samples={cfg.num_samples} ask for "
                             f"{len(starts) * cfg.num_samples} poems; one command writes at most {MAX_POEMS} (run "
                             "it again with another seed= for more)")
    trained = load_for_use(cfg.ckpt_path, cfg.device)  # without ckpt_path: the shipped model
    model, vocab = trained.model, trained.vocab
    poems = sample(model, vocab, starts, cfg.num_samples, acrostic=str(cfg.acrostic or ""),
                   form=cfg.form, prefix=str(cfg.prefix or ""), temperature=cfg.temperature, top_k=cfg.top_k,
                   top_p=cfg.top_p, max_len=cfg.max_len, seed=cfg.seed, metre=as_metre(cfg.metre),
                   candidates=cfg.candidates, title=str(cfg.title or ""),
                   guidance=guidance_for(trained.data, cfg.guidance),
                   rhyme=bool(cfg.rhyme), rhyme_group=str(cfg.rhyme_group) if cfg.rhyme_group else None)
    poems = in_script(poems, cfg.script)
    for note in notes_of(poems):  # converted input, and where a dead end loosened the metre (the JSON has both)
        print(note, file=sys.stderr)
    if cfg.output == "json":
        print_json([p.as_dict() for p in poems])
    else:
        print_text("\n\n".join("\n".join(([title_header(title_in(p, cfg.script))] if p.title else [])
                                           + lines_in(p, cfg.script)) for p in poems))

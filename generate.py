"""Write poems with a trained checkpoint (nothing else needed: the vocabulary is inside it).

    python generate.py ckpt_path=logs/train/runs/<run>/checkpoints/best.ckpt start=日 temperature=0.8
    python generate.py ckpt_path=... start=[日,红,山,夜,湖,海,月] form=wujue seed=0
    python generate.py ckpt_path=... acrostic=春夏秋冬 form=qijue num_samples=3
    python generate.py ckpt_path=... start=月 prefix=秋风萧瑟 output=json

Imports only torch and the model code: no Lightning, W&B or matplotlib on the way to the first poem.
"""

import json

import hydra
from omegaconf import DictConfig, ListConfig

from lit_poetry.cli import quote_unicode_overrides
from lit_poetry.errors import LitPoetryError, exit_with_error


def as_starts(start) -> list[str]:
    if start is None:
        return []
    return [str(s) for s in start] if isinstance(start, ListConfig | list | tuple) else [str(start)]


@hydra.main(version_base="1.3", config_path="configs", config_name="generate")
def main(cfg: DictConfig) -> None:
    try:
        if not cfg.ckpt_path:
            raise LitPoetryError("give a checkpoint: python generate.py ckpt_path=<run dir>/checkpoints/best.ckpt")
        if cfg.output not in ("text", "json"):
            raise LitPoetryError(f"output='{cfg.output}' is not one of text, json")
        from lit_poetry.checkpoint import load_poetry_lm
        from lit_poetry.generation import sample

        model, vocab = load_poetry_lm(cfg.ckpt_path, cfg.device)
        poems = sample(model, vocab, as_starts(cfg.start), cfg.num_samples, acrostic=str(cfg.acrostic or ""),
                       form=cfg.form, prefix=str(cfg.prefix or ""), temperature=cfg.temperature, top_k=cfg.top_k,
                       top_p=cfg.top_p, max_len=cfg.max_len, seed=cfg.seed)
    except LitPoetryError as e:
        exit_with_error(e)
    if cfg.output == "json":
        print(json.dumps(poems, ensure_ascii=False))
    else:
        print("\n\n".join("\n".join(p["lines"]) for p in poems))


if __name__ == "__main__":
    quote_unicode_overrides()
    main()

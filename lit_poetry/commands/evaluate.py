"""A checkpoint's perplexity on any corpus, and a quality report of the poems it writes
(lit_poetry/evaluation.py says what each figure is).

    python -m lit_poetry evaluate ckpt_path=<run>/checkpoints/best.ckpt data=tang           # val split
    python -m lit_poetry evaluate ckpt_path=... data=tang300 split=all                     # another corpus
    python -m lit_poetry evaluate ckpt_path=... corpus=/path/poems.json split=all          # any file
    python -m lit_poetry evaluate ckpt_path=... data=tang quality.num_samples=20 output=json

Settings: configs/evaluate.yaml. Installed, the same command is `lit-poetry-evaluate`.
"""

import json

from omegaconf import DictConfig

from lit_poetry.cli import hydra_command


@hydra_command("evaluate")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from lit_poetry.evaluation import evaluate, format_report

    keys = [o.lstrip("+").split("=")[0] for o in HydraConfig.get().overrides.task if not o.startswith("~")]
    changed = tuple(k.removeprefix("data.") for k in keys if k.startswith("data.") and k.count(".") == 1)
    result = evaluate(cfg, data_given="data" in keys,  # data=tang: that config; data.x=...: only that key changes
                      data_keys=tuple(k for k in changed if k in cfg.data))
    print(json.dumps(result, ensure_ascii=False, indent=1) if cfg.output == "json" else format_report(result))

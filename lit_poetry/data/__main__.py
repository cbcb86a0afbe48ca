"""Corpus statistics: poems read, kept, dropped by reason, characters, vocabulary, lengths, time.

    python -m lit_poetry.data data=tang                  # 全唐诗 (cached after the first run)
    python -m lit_poetry.data data=tang no_cache=true    # cold: read, t2s, clean, filter, encode
    python -m lit_poetry.data data=tangshi data.max_len=48
"""

import json
import time

import hydra
from omegaconf import DictConfig

from lit_poetry.cli import CONFIG_DIR
from lit_poetry.errors import LitPoetryError, exit_with_error


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="stats")
def main(cfg: DictConfig) -> None:
    from lit_poetry.data.processing import ProcessingConfig, load_or_process

    t0 = time.perf_counter()
    try:
        settings = ProcessingConfig.from_settings(cfg.data)  # no Lightning import: the timing is the pipeline's
        corpus = load_or_process(settings, None if cfg.no_cache else cfg.data.cache_dir)
    except LitPoetryError as e:
        exit_with_error(e)
    stats = dict(corpus.stats, total_seconds=round(time.perf_counter() - t0, 3))
    print(json.dumps(stats, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Corpus statistics: poems read, kept, dropped by reason, characters, vocabulary, lengths, time.

    python -m lit_poetry stats data=tang                  # 全唐诗 (cached after the first run)
    python -m lit_poetry stats data=tang no_cache=true    # cold: read, t2s, clean, filter, encode
    python -m lit_poetry stats data=tangshi data.max_len=48

Settings: configs/stats.yaml. Installed, the same command is `lit-poetry-stats`.
"""

import json
import time

from omegaconf import DictConfig

from lit_poetry.cli import hydra_command


@hydra_command("stats")
def main(cfg: DictConfig) -> None:
    from lit_poetry.data.cache import load_or_process  # no Lightning import: the timing is the pipeline's
    from lit_poetry.data.download import ensure_corpus
    from lit_poetry.data.processing import ProcessingConfig

    settings = ProcessingConfig.from_settings(cfg.data)
    for corpus in settings.corpora:  # first use: download, untimed
        ensure_corpus(corpus, settings.data_dir, cfg.data.download)
    t0 = time.perf_counter()
    corpus = load_or_process(settings, None if cfg.no_cache else cfg.data.cache_dir)
    stats = dict(corpus.stats, total_seconds=round(time.perf_counter() - t0, 3))
    print(json.dumps(stats, ensure_ascii=False, indent=2))

"""An on-disk cache of processed corpora, keyed by every setting that changes them and by the corpus files'
size and modification time, so that a second run loads tensors instead of re-reading 56k poems of JSON.
Every miss says why in the log.
"""

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path

import torch

from lit_poetry.data.batching import EncodedSplit
from lit_poetry.data.corpora import corpus_files
from lit_poetry.data.processing import ProcessedCorpus, ProcessingConfig, process
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.resources import atomic_path

log = logging.getLogger(__name__)
CACHE_VERSION = 2  # bump when processing changes what a cached file holds


def cache_key(cfg: ProcessingConfig) -> str:
    """Hash of the settings, the code version and the corpus files (path, size, mtime)."""
    files = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns)
             for corpus in cfg.corpora for p in corpus_files(corpus, cfg.data_dir)]
    settings = {k: v for k, v in asdict(cfg).items() if k != "data_dir"}
    blob = json.dumps({"v": CACHE_VERSION, "cfg": settings, "files": files}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(cfg: ProcessingConfig, cache_dir: str | os.PathLike) -> Path:
    name = "+".join(Path(c.replace("*", "_")).stem for c in cfg.corpora)
    return Path(cache_dir) / f"{name}-{cache_key(cfg)}.pt"


def _read(path: Path) -> ProcessedCorpus:
    blob = torch.load(path, weights_only=True)  # tensors, lists, dicts and strings only
    return ProcessedCorpus(Vocabulary.from_dict(blob["vocab"]),
                           {k: EncodedSplit(**v) for k, v in blob["splits"].items()}, blob["texts"], blob["stats"],
                           blob["titles"])


def _write(corpus: ProcessedCorpus, path: Path) -> None:
    """Atomic: readers see the old file or the whole new one, never half."""
    blob = {"vocab": corpus.vocab.to_dict(), "splits": {k: vars(v) for k, v in corpus.splits.items()},
            "texts": corpus.texts, "stats": corpus.stats, "titles": corpus.titles}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a full disk is an OSError here (torch's own is not)
        torch.save(blob, f)


def load_or_process(cfg: ProcessingConfig, cache_dir: str | os.PathLike | None) -> ProcessedCorpus:
    """`process(cfg)`, through the on-disk cache when `cache_dir` is set."""
    if not cache_dir:
        log.info("data cache off: processing corpus '%s' from its files", cfg.corpus)
        return process(cfg)
    path = cache_path(cfg, cache_dir)
    if path.exists():
        t0 = time.perf_counter()
        try:
            corpus = _read(path)
            corpus.stats["cache"] = {"hit": True, "path": str(path), "seconds": round(time.perf_counter() - t0, 3)}
            return corpus
        except Exception as e:  # whatever makes the file unreadable, it is rebuilt; the log says why
            log.warning("data cache %s is unreadable (%s: %s); processing again and rewriting it",
                        path, type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
    else:
        log.info("data cache miss: no %s (first run with these settings or files); processing corpus '%s'",
                 path, cfg.corpus)
    corpus = process(cfg)
    try:
        _write(corpus, path)
    except OSError as e:  # a full or read-only cache folder costs the next run its start-up, not this run
        log.warning("data cache %s not written (%s); training goes on without it (paths.cache_dir= elsewhere)",
                    path, e.strerror or e)
    corpus.stats["cache"] = {"hit": False, "path": str(path)}
    return corpus

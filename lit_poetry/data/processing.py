"""Raw poems -> encoded training sequences: clean, filter, split by poem, build the vocabulary, encode.

The result (`ProcessedCorpus`) is cached on disk, keyed by every setting that changes it and by the
corpus files' size and modification time, so a second run loads tensors instead of re-reading JSON.
"""

import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from lit_poetry.data.cleaning import LINE_END, clean_poem
from lit_poetry.data.corpora import corpus_files, read_corpus
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError

CACHE_VERSION = 1  # bump when processing changes what a cached file holds
LONG_POEMS = ("truncate", "window", "drop")


@dataclass(frozen=True)
class ProcessingConfig:
    corpus: str = "tangshi"
    data_dir: str | None = None
    t2s: bool | None = None  # None: convert JSON corpora (traditional), leave text files
    min_len: int = 5  # poems shorter than this (characters incl. punctuation) are dropped
    max_len: int = 24  # longer poems are handled by `long_poems`
    long_poems: str = "truncate"  # truncate | window | drop
    seq_len: int | None = None  # window length in characters (default: max_len)
    seq_step: int | None = None  # window stride (default: seq_len // 2)
    min_freq: int = 1  # characters seen fewer times become <unk>
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    split_seed: int = 1234

    @classmethod
    def from_settings(cls, settings) -> "ProcessingConfig":
        """The processing settings out of a larger mapping (the `data` config, DataModule hparams)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in names})

    def __post_init__(self):
        if self.long_poems not in LONG_POEMS:
            raise LitPoetryError(f"long_poems='{self.long_poems}' is not one of {', '.join(LONG_POEMS)}")
        if not 0 < self.min_len <= self.max_len:
            raise LitPoetryError(f"need 0 < min_len <= max_len, got min_len={self.min_len} max_len={self.max_len}")
        if self.seq_step and self.seq_step > (self.seq_len or self.max_len):
            raise LitPoetryError(f"seq_step={self.seq_step} > seq_len: windows would skip characters")
        if not 0 <= self.val_fraction + self.test_fraction < 1:
            raise LitPoetryError("val_fraction + test_fraction must be in [0, 1)")


@dataclass
class EncodedSplit:
    """Variable-length id sequences stored flat: sequence i is ids[offsets[i]:offsets[i+1]]."""

    ids: torch.Tensor  # (N_tokens,) int32, each sequence is <bos> chars [<eos>]
    offsets: torch.Tensor  # (N_seq + 1,) int64
    poem_index: torch.Tensor  # (N_seq,) int64: which kept poem a sequence came from

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def from_sequences(cls, seqs: list[list[int]], poem_index: list[int]) -> "EncodedSplit":
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
        return cls(torch.from_numpy(flat), torch.from_numpy(offsets), torch.tensor(poem_index, dtype=torch.int64))


@dataclass
class ProcessedCorpus:
    vocab: Vocabulary
    splits: dict[str, EncodedSplit]
    texts: list[str]  # kept (cleaned, length-fitted) poem texts, indexed by EncodedSplit.poem_index
    stats: dict = field(default_factory=dict)


def fit_length(text: str, cfg: ProcessingConfig) -> list[tuple[str, bool, bool]]:
    """Pieces of one poem as (text, starts_poem, ends_poem); [] when the poem is filtered out.

    truncate: cut at the last line end (。？！；) within max_len, else hard at max_len;
    window: windows of seq_len characters every seq_step, the last one aligned to the poem's end,
            so every character is covered; drop: long poems are left out."""
    if len(text) < cfg.min_len:
        return []
    if len(text) <= cfg.max_len:
        return [(text, True, True)]
    if cfg.long_poems == "drop":
        return []
    if cfg.long_poems == "truncate":
        head = text[: cfg.max_len]
        cut = max(head.rfind(c) for c in LINE_END) + 1
        return [(head[: cut] if cut >= cfg.min_len else head, True, False)]
    seq_len = cfg.seq_len or cfg.max_len
    step = cfg.seq_step or max(1, seq_len // 2)
    starts = list(range(0, len(text) - seq_len, step)) + [len(text) - seq_len]
    return [(text[s : s + seq_len], s == 0, s + seq_len == len(text)) for s in starts]


@dataclass
class PreparedPoems:
    """Cleaned, deduplicated, length-fitted poems, before any vocabulary."""

    texts: list[str]  # whole cleaned poems
    pieces: list[list[tuple[str, bool, bool]]]  # per poem: fit_length's (text, starts, ends)
    dropped: Counter
    poems_read: int


def prepare_poems(cfg: ProcessingConfig) -> PreparedPoems:
    """Read, clean, drop duplicates, fit lengths."""
    raw = read_corpus(cfg.corpus, cfg.data_dir, cfg.t2s)
    prepared = PreparedPoems([], [], Counter(), len(raw))
    seen: set[str] = set()
    for poem in raw:
        clean, reason = clean_poem(poem)
        if clean is None:
            prepared.dropped[reason] += 1
            continue
        text = clean.text
        if text in seen:  # 全唐诗 repeats some poems; a repeat could land in both splits
            prepared.dropped["duplicate"] += 1
            continue
        seen.add(text)
        fitted = fit_length(text, cfg)
        if not fitted:
            prepared.dropped["too_short" if len(text) < cfg.min_len else "too_long"] += 1
            continue
        prepared.texts.append(text)
        prepared.pieces.append(fitted)
    if not prepared.texts:
        raise LitPoetryError(
            f"corpus '{cfg.corpus}' has no poem left after cleaning and filtering "
            f"(read {len(raw)}, dropped {dict(prepared.dropped)}); loosen min_len/max_len or long_poems"
        )
    return prepared


def split_poems(n_poems: int, cfg: ProcessingConfig) -> dict[str, np.ndarray]:
    """Seeded split by poem (so windows of one poem never straddle train and val): name -> poem indices."""
    order = np.random.default_rng(cfg.split_seed).permutation(n_poems)
    n_val, n_test = round(n_poems * cfg.val_fraction), round(n_poems * cfg.test_fraction)
    splits = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    if len(splits["train"]) == 0 or (cfg.val_fraction > 0 and n_val == 0):
        raise LitPoetryError(f"corpus '{cfg.corpus}' has {n_poems} poems: too few to split train/val")
    return splits


def encode_poems(prepared: PreparedPoems, poem_ids, vocab: Vocabulary) -> EncodedSplit:
    """The pieces of the given poems as <bos> text <eos> id sequences (characters outside vocab: <unk>)."""
    seqs, index = [], []
    for i in sorted(int(i) for i in poem_ids):
        for piece, starts, ends in prepared.pieces[i]:
            seqs.append(([vocab.bos_id] if starts else []) + vocab.encode(piece) + ([vocab.eos_id] if ends else []))
            index.append(i)
    return EncodedSplit.from_sequences(seqs, index)


def process(cfg: ProcessingConfig) -> ProcessedCorpus:
    """Read, clean, filter, split, build the vocabulary on the train split, encode."""
    t0 = time.perf_counter()
    prepared = prepare_poems(cfg)
    split_ids = split_poems(len(prepared.texts), cfg)
    vocab = Vocabulary.build((p[0] for i in split_ids["train"] for p in prepared.pieces[i]), cfg.min_freq)
    splits = {name: encode_poems(prepared, ids, vocab) for name, ids in split_ids.items()}
    lengths = np.array([len(t) for t in prepared.texts])
    stats = {
        "poems_read": prepared.poems_read,
        "poems_kept": len(prepared.texts),
        "dropped": dict(prepared.dropped),
        "characters": int(lengths.sum()),
        "vocab_size": len(vocab),
        "sequences": {k: len(v) for k, v in splits.items()},
        "tokens": {k: int(len(v.ids)) for k, v in splits.items()},
        "poem_length_percentiles": dict(zip(("p5", "p25", "p50", "p75", "p95", "max"),
                                            np.percentile(lengths, [5, 25, 50, 75, 95, 100]).astype(int).tolist())),
        "build_seconds": round(time.perf_counter() - t0, 3),
    }
    return ProcessedCorpus(vocab, splits, prepared.texts, stats)


def cache_key(cfg: ProcessingConfig) -> str:
    """Hash of the settings, the code version and the corpus files (path, size, mtime)."""
    files = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in corpus_files(cfg.corpus, cfg.data_dir)]
    settings = {k: v for k, v in asdict(cfg).items() if k != "data_dir"}
    blob = json.dumps({"v": CACHE_VERSION, "cfg": settings, "files": files}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_or_process(cfg: ProcessingConfig, cache_dir: str | os.PathLike | None) -> ProcessedCorpus:
    """`process(cfg)`, through an on-disk cache when `cache_dir` is set. Writes are atomic."""
    if not cache_dir:
        return process(cfg)
    path = Path(cache_dir) / f"{Path(cfg.corpus.replace('*', '_')).stem}-{cache_key(cfg)}.pt"
    if path.exists():
        t0 = time.perf_counter()
        try:
            blob = torch.load(path, weights_only=True)  # tensors, lists, dicts and strings only
            corpus = ProcessedCorpus(Vocabulary.from_dict(blob["vocab"]),
                                     {k: EncodedSplit(**v) for k, v in blob["splits"].items()},
                                     blob["texts"], blob["stats"])
            corpus.stats["cache"] = {"hit": True, "path": str(path), "seconds": round(time.perf_counter() - t0, 3)}
            return corpus
        except Exception:  # unreadable cache file: rebuild it
            pass
    corpus = process(cfg)
    blob = {"vocab": corpus.vocab.to_dict(), "splits": {k: vars(v) for k, v in corpus.splits.items()},
            "texts": corpus.texts, "stats": corpus.stats}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    corpus.stats["cache"] = {"hit": False, "path": str(path)}
    return corpus


class PadCollate:
    """Pad a list of id sequences to the batch's longest and shift by one: inputs predict targets.

    Plain torch, no Lightning: the DataModule, the evaluation and the NumPy twin share it."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        T = max(len(s) for s in seqs) - 1
        batch = torch.full((len(seqs), T + 1), self.pad_id, dtype=torch.long)  # (B, T+1)
        for row, s in zip(batch, seqs):
            row[: len(s)] = s
        return batch[:, :-1], batch[:, 1:]  # (B, T) inputs, (B, T) targets (<pad> where no target)


def padded_batches(split: EncodedSplit, batch_size: int, pad_id: int, order=None):
    """(inputs, targets) batches of `split` taken in `order` (default: as stored); the last may be short."""
    collate = PadCollate(pad_id)
    order = range(len(split)) if order is None else order
    for start in range(0, len(order), batch_size):
        yield collate([split[int(i)] for i in order[start : start + batch_size]])

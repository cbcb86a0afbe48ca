"""Raw poems -> encoded training sequences: clean, filter, split by poem, build the vocabulary, encode.

With `titles`, a poem's sequence begins with its title between title marks, `<bos>《秋夜》` + poem + `<eos>`;
the batches mask the title's targets (batching.PadCollate), so a loss or a perplexity is the poem's alone.

`ProcessingConfig` holds every setting that changes the result (the one list of them: the DataModule,
the cache key and the checkpoint's record of the data all come from it); `process` runs the stages.
`cache.py` keeps the result on disk, `batching.py` turns it into padded batches.
"""

import time
from collections import Counter
from dataclasses import dataclass, field, fields

import numpy as np

from lit_poetry.data.batching import EncodedSplit
from lit_poetry.data.cleaning import clean_poem
from lit_poetry.data.corpora import read_corpus
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.text import LINE_END, TITLE_MARKS, title_header

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
    titles: bool = False  # each poem begins with its title, <bos>《秋夜》..., read by the model, not scored
    untitled_fraction: float = 0.0  # share of train poems shown without their title (a seeded choice), so that
    # the model also writes with none
    train_also: tuple[str, ...] = ()  # more corpora for the train split only (song): val/test come from `corpus`
    measured_repeat: int = 1  # with train_also: `corpus`'s train poems come this many times per epoch
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    split_seed: int = 1234

    @classmethod
    def from_settings(cls, settings) -> "ProcessingConfig":
        """The processing settings out of a larger mapping (the whole `data` config)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in names})

    @classmethod
    def from_kwargs(cls, settings: dict) -> "ProcessingConfig":
        """Exactly the processing settings: a name that is not one is refused, not ignored."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise LitPoetryError(f"unknown data setting(s) {', '.join(unknown)}; the data settings are "
                                 f"{', '.join(names)}, batch_size, num_workers, cache_dir, download, bucket_window, "
                                 "shuffle_seed")
        return cls(**settings)

    def __post_init__(self):
        if self.long_poems not in LONG_POEMS:
            raise LitPoetryError(f"long_poems='{self.long_poems}' is not one of {', '.join(LONG_POEMS)}")
        if not 0 < self.min_len <= self.max_len:
            raise LitPoetryError(f"need 0 < min_len <= max_len, got min_len={self.min_len} max_len={self.max_len}")
        if self.seq_step and self.seq_step > (self.seq_len or self.max_len):
            raise LitPoetryError(f"seq_step={self.seq_step} > seq_len: windows would skip characters")
        if not 0 <= self.val_fraction + self.test_fraction < 1:
            raise LitPoetryError("val_fraction + test_fraction must be in [0, 1)")
        if self.measured_repeat < 1:
            raise LitPoetryError(f"measured_repeat={self.measured_repeat} must be a whole number >= 1")
        if not 0 <= self.untitled_fraction <= 1:
            raise LitPoetryError(f"untitled_fraction={self.untitled_fraction} is not in [0, 1]")
        if isinstance(self.train_also, str):
            raise LitPoetryError(f"train_also='{self.train_also}' must be a list: train_also=[{self.train_also}]")
        object.__setattr__(self, "train_also", tuple(self.train_also))  # YAML lists arrive as ListConfig

    @property
    def corpora(self) -> tuple[str, ...]:
        """Every corpus a run reads, the measured one first."""
        return (self.corpus, *self.train_also)


@dataclass
class ProcessedCorpus:
    vocab: Vocabulary
    splits: dict[str, EncodedSplit]
    texts: list[str]  # kept (cleaned, length-fitted) poem texts, indexed by EncodedSplit.poem_index
    stats: dict = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)  # the kept poems' cleaned titles ("" for none)


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
    titles: list[str] = field(default_factory=list)  # cleaned, "" for none
    measured: int = 0  # the first `measured` poems come from `corpus`; the rest (train_also) only train


def prepare_poems(cfg: ProcessingConfig) -> PreparedPoems:
    """Read, clean, drop duplicates, fit lengths: `corpus` first, then each of `train_also`."""
    prepared = PreparedPoems([], [], Counter(), 0)
    seen: set[str] = set()
    for k, corpus in enumerate(cfg.corpora):
        raw = read_corpus(corpus, cfg.data_dir, cfg.t2s)
        prepared.poems_read += len(raw)
        for poem in raw:
            clean, reason = clean_poem(poem)
            if clean is None:
                prepared.dropped[reason] += 1
                continue
            text = clean.text
            if text in seen:  # 全唐诗 repeats some poems, 全宋诗 some of 全唐诗's: a repeat could land in both splits
                prepared.dropped["duplicate"] += 1
                continue
            seen.add(text)
            fitted = fit_length(text, cfg)
            if not fitted:
                prepared.dropped["too_short" if len(text) < cfg.min_len else "too_long"] += 1
                continue
            prepared.texts.append(text)
            prepared.titles.append(clean.title)
            prepared.pieces.append(fitted)
        if k == 0:
            prepared.measured = len(prepared.texts)
    if not prepared.measured:
        raise LitPoetryError(
            f"corpus '{cfg.corpus}' has no poem left after cleaning and filtering "
            f"(read {prepared.poems_read}, dropped {dict(prepared.dropped)}); loosen min_len/max_len or long_poems"
        )
    return prepared


def split_poems(prepared: PreparedPoems, cfg: ProcessingConfig) -> dict[str, np.ndarray]:
    """Seeded split by poem (so windows of one poem never straddle train and val): name -> poem indices.
    Only `corpus`'s poems are split; those of `train_also` all train, beside `measured_repeat` copies of
    `corpus`'s train poems."""
    n_poems = prepared.measured
    order = np.random.default_rng(cfg.split_seed).permutation(n_poems)
    n_val, n_test = round(n_poems * cfg.val_fraction), round(n_poems * cfg.test_fraction)
    extra = np.arange(n_poems, len(prepared.texts))
    repeat = cfg.measured_repeat if len(extra) else 1  # a corpus alone is not weighted against anything
    splits = {"val": order[:n_val], "test": order[n_val : n_val + n_test],
              "train": np.concatenate([np.tile(order[n_val + n_test :], repeat), extra])}
    if n_poems - n_val - n_test == 0 or (cfg.val_fraction > 0 and n_val == 0):
        raise LitPoetryError(f"corpus '{cfg.corpus}' has {n_poems} poems: too few to split train/val")
    return splits


def title_headers(prepared: PreparedPoems, poem_ids, mode: str = "own", seed: int = 0) -> dict[int, str]:
    """Poem index -> the title it is shown with: its own ("own"), another poem's of the same ids ("shuffled":
    a seeded permutation rolled by one, so no poem keeps its own), or none ("none": {})."""
    ids = [int(i) for i in poem_ids]
    if mode == "none":
        return {}
    if mode == "shuffled":
        order = np.random.default_rng(seed).permutation(len(ids))
        return {ids[order[k]]: prepared.titles[ids[order[k - 1]]] for k in range(len(ids))}
    if mode != "own":
        raise LitPoetryError(f"titles='{mode}' is not one of own, shuffled, none")
    return {i: prepared.titles[i] for i in ids}


def encode_poems(prepared: PreparedPoems, poem_ids, vocab: Vocabulary, titles: dict[int, str] | None = None
                 ) -> EncodedSplit:
    """The pieces of the given poems as <bos> [《title》] text <eos> id sequences (characters outside vocab:
    <unk>); `titles` (poem index -> title, title_headers) puts a title before a poem's first piece."""
    seqs, index = [], []
    titles = titles or {}
    for i in sorted(int(i) for i in poem_ids):
        for piece, starts, ends in prepared.pieces[i]:
            head = []
            if starts:
                head = [vocab.bos_id] + (vocab.encode(title_header(titles[i])) if titles.get(i) else [])
            seqs.append(head + vocab.encode(piece) + ([vocab.eos_id] if ends else []))
            index.append(i)
    return EncodedSplit.from_sequences(seqs, index)


def split_titles(prepared: PreparedPoems, split_ids: dict, cfg: ProcessingConfig) -> dict[str, dict[int, str]]:
    """Per split, the titles its poems are trained or measured with: none without `titles`; val and test
    their own; train its own except a seeded `untitled_fraction` of the poems."""
    if not cfg.titles:
        return {name: {} for name in split_ids}
    shown = {name: title_headers(prepared, ids) for name, ids in split_ids.items()}
    untitled = np.random.default_rng(cfg.split_seed + 1).random(len(prepared.texts)) < cfg.untitled_fraction
    shown["train"] = {i: t for i, t in shown["train"].items() if not untitled[i]}
    return shown


def process(cfg: ProcessingConfig) -> ProcessedCorpus:
    """Read, clean, filter, split, build the vocabulary on the train split, encode."""
    t0 = time.perf_counter()
    prepared = prepare_poems(cfg)
    split_ids = split_poems(prepared, cfg)
    # the measured corpus's train poems decide the vocabulary: another corpus adds no output the val split needs
    measured_train = np.unique(split_ids["train"][split_ids["train"] < prepared.measured])  # once each
    vocab = Vocabulary.build((p[0] for i in measured_train for p in prepared.pieces[i]), cfg.min_freq,
                             extra=TITLE_MARKS if cfg.titles else "")
    titles = split_titles(prepared, split_ids, cfg)
    splits = {name: encode_poems(prepared, ids, vocab, titles[name]) for name, ids in split_ids.items()}
    lengths = np.array([len(t) for t in prepared.texts])
    stats = {
        "poems_read": prepared.poems_read,
        "poems_kept": len(prepared.texts),
        "poems_measured": prepared.measured,
        "titled": {k: len(v) for k, v in titles.items()},
        "dropped": dict(prepared.dropped),
        "characters": int(lengths.sum()),
        "vocab_size": len(vocab),
        "sequences": {k: len(v) for k, v in splits.items()},
        "tokens": {k: int(len(v.ids)) for k, v in splits.items()},
        "poem_length_percentiles": dict(zip(("p5", "p25", "p50", "p75", "p95", "max"),
                                            np.percentile(lengths, [5, 25, 50, 75, 95, 100]).astype(int).tolist())),
        "build_seconds": round(time.perf_counter() - t0, 3),
    }
    return ProcessedCorpus(vocab, splits, prepared.texts, stats, prepared.titles)



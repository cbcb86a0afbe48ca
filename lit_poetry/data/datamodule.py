"""PoetryDataModule: processing settings -> padded (inputs, targets) batches for Lightning."""

import lightning as L
from torch.utils.data import DataLoader

from lit_poetry.data.batching import PadCollate
from lit_poetry.data.cache import load_or_process
from lit_poetry.data.download import ensure_corpus
from lit_poetry.data.processing import ProcessedCorpus, ProcessingConfig
from lit_poetry.data.sampling import LengthBuckets, RankShare
from lit_poetry.data.vocab import Vocabulary


class PoetryDataModule(L.LightningDataModule):
    """`processing` are `ProcessingConfig`'s fields (corpus, data_dir, max_len, ...: configs/data/*.yaml);
    the rest is how batches are served, and whether a missing chinese-poetry corpus may be downloaded.

    bucket_window > 1 sorts each run of that many batches' poems by length before batching (less padding,
    data/sampling.py); 0 gives random batches. Under DDP each rank gets a disjoint share of every split."""

    def __init__(self, batch_size: int = 16, num_workers: int = 0, cache_dir: str | None = None,
                 download: bool = True, bucket_window: int = 0, shuffle_seed: int = 0, **processing):
        super().__init__()
        self.processing = ProcessingConfig.from_kwargs(processing)
        self.batch_size, self.num_workers, self.cache_dir = batch_size, num_workers, cache_dir
        self.download, self.bucket_window, self.shuffle_seed = download, bucket_window, shuffle_seed
        self.corpus: ProcessedCorpus | None = None
        self._train_batches: LengthBuckets | None = None
        self._epoch_start_step = 0  # the global step at which the current training epoch began
        self._resume: dict | None = None  # the position a checkpoint held, until the training loader takes it

    def prepare_data(self) -> None:
        """Runs once per node: downloads a missing corpus (once), fills the cache for every rank's `setup`."""
        for corpus in self.processing.corpora:
            ensure_corpus(corpus, self.processing.data_dir, self.download)
        load_or_process(self.processing, self.cache_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is None:
            self.corpus = load_or_process(self.processing, self.cache_dir)

    @property
    def vocab(self) -> Vocabulary:
        self.setup()
        return self.corpus.vocab

    def _loader(self, split: str, shuffle: bool, on_epoch=None) -> DataLoader:
        self.setup()
        data = self.corpus.splits[split]  # EncodedSplit: a map-style dataset of id tensors
        trainer = self.trainer
        share = RankShare(len(data), shuffle, self.shuffle_seed, trainer.global_rank if trainer else 0,
                          trainer.world_size if trainer else 1)
        return DataLoader(
            data,
            batch_sampler=LengthBuckets(share, data.lengths(), self.batch_size, self.bucket_window, on_epoch),
            collate_fn=PadCollate(self.corpus.vocab.pad_id, self.corpus.vocab.title_ids),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        loader = self._loader("train", shuffle=True, on_epoch=self._epoch_begins)
        self._train_batches = batches = loader.batch_sampler
        if self._resume:  # a checkpoint's position: the next batch of its epoch (its end: the next epoch)
            epoch, done = self._resume["epoch"], self._resume["batches_done"]
            batches.sampler.set_epoch(epoch + 1 if done >= len(batches) else epoch)
            batches.skip = done if 0 < done < len(batches) else 0
            self._resume = None
        return loader

    def _epoch_begins(self, skipped: int) -> None:
        self._epoch_start_step = (self.trainer.global_step if self.trainer else 0) - skipped

    def state_dict(self) -> dict:
        """Where training stands in its epoch, saved in every checkpoint (one optimizer step per batch)."""
        if self._train_batches is None or self.trainer is None:
            return {}
        return {"epoch": self._train_batches.sampler.epoch,
                "batches_done": self.trainer.global_step - self._epoch_start_step}

    def load_state_dict(self, state: dict) -> None:
        self._resume = state or None

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

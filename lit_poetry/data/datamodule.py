"""PoetryDataModule: processing settings -> padded (inputs, targets) batches for Lightning."""

import lightning as L
from torch.utils.data import DataLoader

from lit_poetry.data.batching import PadCollate
from lit_poetry.data.cache import load_or_process
from lit_poetry.data.download import ensure_corpus
from lit_poetry.data.processing import ProcessedCorpus, ProcessingConfig
from lit_poetry.data.vocab import Vocabulary


class PoetryDataModule(L.LightningDataModule):
    """`processing` are `ProcessingConfig`'s fields (corpus, data_dir, max_len, ...: configs/data/*.yaml);
    the rest is how batches are served, and whether a missing chinese-poetry corpus may be downloaded."""

    def __init__(self, batch_size: int = 16, num_workers: int = 0, cache_dir: str | None = None,
                 download: bool = True, **processing):
        super().__init__()
        self.processing = ProcessingConfig.from_kwargs(processing)
        self.batch_size, self.num_workers, self.cache_dir = batch_size, num_workers, cache_dir
        self.download = download
        self.corpus: ProcessedCorpus | None = None

    def prepare_data(self) -> None:
        """Runs once per node: downloads a missing corpus (once), fills the cache for every rank's `setup`."""
        ensure_corpus(self.processing.corpus, self.processing.data_dir, self.download)
        load_or_process(self.processing, self.cache_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is None:
            self.corpus = load_or_process(self.processing, self.cache_dir)

    @property
    def vocab(self) -> Vocabulary:
        self.setup()
        return self.corpus.vocab

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        self.setup()
        return DataLoader(
            self.corpus.splits[split],  # EncodedSplit is a map-style dataset of id tensors
            batch_size=self.batch_size,
            shuffle=shuffle,
            collate_fn=PadCollate(self.corpus.vocab.pad_id),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

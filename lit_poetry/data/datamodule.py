"""PoetryDataModule: a corpus name and settings -> padded (inputs, targets) batches."""

import lightning as L
from torch.utils.data import DataLoader

from lit_poetry.data.processing import PadCollate, ProcessedCorpus, ProcessingConfig, load_or_process
from lit_poetry.data.vocab import Vocabulary


class PoetryDataModule(L.LightningDataModule):
    def __init__(
        self,
        corpus: str = "tangshi",
        data_dir: str | None = None,
        cache_dir: str | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        t2s: bool | None = None,
        min_len: int = 5,
        max_len: int = 24,
        long_poems: str = "truncate",
        seq_len: int | None = None,
        seq_step: int | None = None,
        min_freq: int = 1,
        val_fraction: float = 0.2,
        test_fraction: float = 0.0,
        split_seed: int = 1234,
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.processing = ProcessingConfig.from_settings(self.hparams)
        self.corpus: ProcessedCorpus | None = None

    def prepare_data(self) -> None:
        """Runs once per node: fills the cache so that every rank's `setup` reads it."""
        load_or_process(self.processing, self.hparams.cache_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is None:
            self.corpus = load_or_process(self.processing, self.hparams.cache_dir)

    @property
    def vocab(self) -> Vocabulary:
        self.setup()
        return self.corpus.vocab

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        self.setup()
        return DataLoader(
            self.corpus.splits[split],  # EncodedSplit is a map-style dataset of id tensors
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            collate_fn=PadCollate(self.corpus.vocab.pad_id),
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

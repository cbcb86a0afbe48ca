"""Which poems each batch holds (data/sampling.py): every poem once per epoch, new order each epoch,
reproducible, disjoint DDP shares with equal step counts, and length buckets that cut padding."""

from hydra.utils import instantiate
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.data.sampling import LengthBuckets, RankShare

from .helpers import compose_train


def batches(n, lengths, batch_size, window, seed=0, epoch=0, rank=0, world=1, shuffle=True):
    share = RankShare(n, shuffle, seed, rank, world)
    share.set_epoch(epoch)
    return list(LengthBuckets(share, lengths, batch_size, window))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 300), batch_size=st.integers(1, 20), window=st.integers(0, 6), world=st.integers(1, 4),
       seed=st.integers(0, 10**6), epoch=st.integers(0, 50), data=st.data())
def test_every_poem_once_per_epoch_and_disjoint_ranks(n, batch_size, window, world, seed, epoch, data):
    lengths = data.draw(st.lists(st.integers(2, 50), min_size=n, max_size=n))
    for shuffle in (True, False):
        shares = [batches(n, lengths, batch_size, window, seed, epoch, rank, world, shuffle) for rank in range(world)]
        seen = [i for share in shares for batch in share for i in batch]
        assert len(seen) == len(set(seen))  # no poem twice, across all ranks
        assert all(len(b) <= batch_size for share in shares for b in share)
        if shuffle:  # training: equal steps on every rank; fewer than `world` poems wait for the next epoch
            assert len({len(share) for share in shares}) == 1
            assert n - world < len(seen) <= n
        else:  # validation: every poem exactly once
            assert sorted(seen) == list(range(n))
        assert [len(s) for s in shares] == [len(LengthBuckets(RankShare(n, shuffle, seed, r, world), lengths,
                                                             batch_size, window)) for r in range(world)]
    assert batches(n, lengths, batch_size, window, seed, epoch) == batches(n, lengths, batch_size, window, seed, epoch)


def test_order_changes_between_epochs_and_seeds():
    lengths = [2 + i % 40 for i in range(500)]
    first = batches(500, lengths, 16, 10, seed=1, epoch=0)
    assert first != batches(500, lengths, 16, 10, seed=1, epoch=1)
    assert first != batches(500, lengths, 16, 10, seed=2, epoch=0)
    assert sorted(map(sorted, first)) != sorted(map(sorted, batches(500, lengths, 16, 10, seed=1, epoch=1)))


def test_buckets_cut_padding_on_the_real_corpus(tmp_path):
    datamodule = instantiate(compose_train(tmp_path).data)
    datamodule.setup()
    split = datamodule.corpus.splits["train"]
    lengths = split.lengths()

    def real_share(window):  # real characters / padded batch area
        chosen = batches(len(split), lengths, 16, window, seed=3)
        return sum(lengths[i] for b in chosen for i in b) / sum(max(lengths[i] for i in b) * len(b) for b in chosen)

    assert real_share(20) > real_share(0)
    assert real_share(20) > 0.97


def test_lightning_sets_the_epoch_and_the_batches_are_bucketed(tmp_path):
    import lightning as L

    from lit_poetry.lit_module import PoetryLitModule

    datamodule = instantiate(compose_train(tmp_path, ["data.bucket_window=8", "data.batch_size=4"]).data)
    module = PoetryLitModule(datamodule.vocab.to_dict(), dict(embedding_dim=8, hidden_size=8),
                             {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1})
    seen = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            inputs, targets = batch  # (B, T)
            seen.append((trainer.current_epoch, trainer.train_dataloader.batch_sampler.sampler.epoch,
                         (targets != module.vocab.pad_id).sum(1).tolist()))

    L.Trainer(accelerator="cpu", max_epochs=2, limit_train_batches=4, limit_val_batches=0, logger=False,
              enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
              use_distributed_sampler=False, callbacks=[Record()]).fit(module, datamodule=datamodule)
    assert [(epoch, sampler_epoch) for epoch, sampler_epoch, _ in seen] == [(0, 0)] * 4 + [(1, 1)] * 4
    assert any(max(n) - min(n) < 6 for _, _, n in seen)  # poems of similar length together

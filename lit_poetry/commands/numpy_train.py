"""Train the NumPy LSTM LM on a corpus with a NumPy optimizer: no autograd anywhere
(lit_poetry/numpy_lstm/).

    python -m lit_poetry numpy-train optimizer=adam steps=300
    python -m lit_poetry numpy-train optimizer=rmsprop lr=1e-3 hidden=128 data=tang300

Optimizer settings (lr, betas, alpha, eps, momentum) are read from configs/optimizer/<name>.yaml, the
same files the Lightning training uses; batches come from the package's data pipeline.
"""


from lit_poetry.cli import KeyValueParser, guarded, parse_arguments
from lit_poetry.data.cache import load_or_process
from lit_poetry.data.corpora import default_data_dir
from lit_poetry.data.processing import ProcessingConfig
from lit_poetry.numpy_lstm.optim import OPTIMIZERS
from lit_poetry.numpy_lstm.train import fit


@guarded
def main(argv=None) -> int:
    train_numpy(argv)
    return 0


def train_numpy(argv: list[str] | None = None) -> list[float]:
    """The loop, on the command line's settings; returns the training loss of each step."""
    ap = KeyValueParser(description=__doc__)
    ap.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    ap.add_argument("--lr", type=float, default=None, help="override the config's learning rate")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--data", default="tangshi", help="corpus name or file")
    ap.add_argument("--data-dir", default=None, help="default: $LIT_POETRY_DATA, else ~/.cache/lit_poetry/data")
    ap.add_argument("--max-len", type=int, default=24)
    ap.add_argument("--clip", type=float, default=5.0, help="global gradient-norm clip (0: off)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = parse_arguments(ap, argv)

    corpus = load_or_process(ProcessingConfig(corpus=args.data, data_dir=str(args.data_dir or default_data_dir()),
                                              max_len=args.max_len, long_poems="window"), cache_dir=None)
    return fit(corpus, args.optimizer, args.lr, args.steps, args.batch, args.embed, args.hidden, args.clip,
               args.log_every, args.seed)

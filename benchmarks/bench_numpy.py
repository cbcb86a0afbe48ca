"""NumPy LSTM LM forward+backward vs the PyTorch autograd LSTM LM (same weights, same batch).

    python benchmarks/bench_numpy.py                       # B=16 T=25 E=256 H=512 V=2349 (report 000, small corpus)
    python benchmarks/bench_numpy.py --dtype float64 --batch 64 --seq 49

Both compute the masked mean cross-entropy and every parameter gradient; rounds are interleaved and
the ratio is NumPy time / PyTorch time (lower is better for NumPy; the goal is within 2x).
"""

import argparse
import statistics
import time

import numpy as np
import torch

from lit_poetry.models.lstm_lm import LSTMLM
from lit_poetry.numpy_lstm.model import NumpyLSTMLM


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=25)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=2349)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    torch_dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    lm = LSTMLM(args.vocab, args.embed, args.hidden).to(torch_dtype)
    np_model = NumpyLSTMLM(args.vocab, args.embed, args.hidden, dtype=np.dtype(args.dtype))
    np_model.load_poetry_lm(lm)
    rng = np.random.default_rng(0)
    ids = rng.integers(4, args.vocab, (args.batch, args.seq + 1))
    inputs, targets = ids[:, :-1], ids[:, 1:]
    t_inputs, t_targets = torch.from_numpy(inputs), torch.from_numpy(targets)

    def run_torch():
        lm.zero_grad(set_to_none=True)
        loss, _, _ = lm.loss(t_inputs, t_targets, ignore_id=0)
        loss.backward()

    def run_numpy():
        np_model.loss_and_grads(inputs, targets)

    times = {"numpy": [], "torch": []}
    run_numpy(), run_torch()  # warm-up
    for _ in range(args.rounds):
        for name, fn in (("numpy", run_numpy), ("torch", run_torch)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"B={args.batch} T={args.seq} E={args.embed} H={args.hidden} V={args.vocab} {args.dtype}, "
          f"{torch.get_num_threads()} torch threads")
    print(f"numpy forward+backward: {med['numpy']:.1f} ms, torch autograd: {med['torch']:.1f} ms, "
          f"ratio numpy/torch {med['numpy'] / med['torch']:.2f}x")


if __name__ == "__main__":
    main()

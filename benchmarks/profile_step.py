"""Where a training step's time goes: LSTM forward, output layer + loss, their backward passes, optimizer.

    python benchmarks/profile_step.py                    # bf16-mixed, fused LSTM, report shapes
    python benchmarks/profile_step.py --dtype fp32 --impls torch,fused
    python benchmarks/profile_step.py --impls fused-torch-nokernel,fused   # before / after the step kernel
    python benchmarks/profile_step.py --chunk-rows 256   # rows of logits per output-layer chunk

One step is the one training runs (LanguageModel.loss, backward, Adam), cut at its seams: the LSTM output
carries a gradient hook, so the backward pass splits into the output layer's part and the LSTM's.
"Other" is the step's total minus the named parts (autograd bookkeeping, zero_grad, Python).
Several --impls run interleaved (one step each per round), so that machine noise hits all alike.
Medians over --rounds steps after a warm-up; run on a quiet machine, and say which CPU.
"""

import argparse
import statistics
import time

import torch
from bench_lstm import DTYPES, add_shape_args, network, parse_impl  # benchmarks/

from lit_poetry.models import gemm, linear_ce

PARTS = ["lstm forward", "output + loss forward", "output backward", "lstm backward", "optimizer", "other"]


def profile_step(model, optimizer, ids, dtype) -> dict[str, float]:
    """One training step, timed part by part (seconds)."""
    marks = {"start": time.perf_counter()}
    with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        hidden, _ = model.features(ids[:, :-1])  # (B, T, H)
        marks["lstm forward"] = time.perf_counter()
        hidden.register_hook(lambda grad: marks.__setitem__("output backward", time.perf_counter()))
        loss = linear_ce.linear_cross_entropy(hidden.flatten(0, 1), model.head.weight, model.head.bias,
                                              ids[:, 1:].flatten())
        marks["output + loss forward"] = time.perf_counter()
    loss.backward()
    marks["lstm backward"] = time.perf_counter()
    optimizer.step()
    marks["optimizer"] = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    end = time.perf_counter()
    order = ["start", *PARTS[:-1]]
    parts = {name: marks[name] - marks[prev] for prev, name in zip(order, order[1:])}
    parts["other"] = end - marks["start"] - sum(parts.values())
    return parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shape_args(ap)
    ap.add_argument("--impls", default="fused", help="comma-separated, variants as in bench_lstm.py")
    ap.add_argument("--dtype", default="bf16", choices=list(DTYPES))
    ap.add_argument("--chunk-rows", type=int, default=linear_ce.CHUNK_ROWS)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    linear_ce.CHUNK_ROWS = args.chunk_rows
    ids = torch.randint(4, args.vocab, (args.batch, args.seq + 1), generator=torch.Generator().manual_seed(0))
    dtype = DTYPES[args.dtype]
    if dtype is torch.bfloat16 and "torch" in {parse_impl(n)[0] for n in args.impls.split(",")} and \
            not gemm.onednn_takes_bf16():  # nn.LSTM's only CPU bf16 route is oneDNN's
        print("bf16: oneDNN refuses bf16 on this CPU (AVX2 without avx512), so nn.LSTM cannot run it: fp32 instead")
        args.dtype, dtype = "fp32", None
    cases = {}  # name -> (model, optimizer)
    for name in args.impls.split(","):
        impl, variant = parse_impl(name)
        torch.manual_seed(0)
        model = network(impl, variant, args)
        cases[name] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))
    runs = {name: [] for name in cases}
    for i in range(3 + args.rounds):  # 3 warm-up rounds; rounds interleaved, as in bench_lstm.py
        for name, (model, optimizer) in cases.items():
            parts = profile_step(model, optimizer, ids, dtype)
            if i >= 3:
                runs[name].append(parts)
    totals = {name: statistics.median(sum(r.values()) for r in rs) * 1e3 for name, rs in runs.items()}
    print(f"{args.dtype}, B={args.batch} T={args.seq} E={args.embed} H={args.hidden} V={args.vocab}, "
          f"chunk rows {args.chunk_rows}, {torch.get_num_threads()} threads, medians of {args.rounds} steps (ms)")
    print("| part | " + " | ".join(runs) + " |")
    print("|---|" + "---|" * len(runs))
    for part in PARTS:
        cells = [f"{statistics.median(r[part] for r in rs) * 1e3:.1f}" for rs in runs.values()]
        print(f"| {part} | " + " | ".join(cells) + " |")
    print("| **step** | " + " | ".join(f"**{t:.1f}**" for t in totals.values()) + " |")


if __name__ == "__main__":
    main()

"""Training-step and LSTM-only speed of the three LSTM implementations, fp32 and bf16-mixed.

    python benchmarks/bench_lstm.py                          # report shapes: B=64 T=48 E=256 H=512 V=5500
    python benchmarks/bench_lstm.py --json > bench.json      # one record per impl x dtype x scope
    python benchmarks/bench_lstm.py --impls torch,fused --dtypes bf16 --rounds 9
    python benchmarks/bench_lstm.py --impls torch,fused,fused-mkl,fused-torch   # the matmul routes of gemm.py
    python benchmarks/bench_lstm.py --impls torch,fused,fused-nokernel          # with and without the step kernel
    python benchmarks/bench_lstm.py --impls torch,fused,fused-torch-nokernel    # the fused LSTM as it was before both

Rounds are interleaved (every configuration once per round) so that machine noise hits all alike;
ratios are against nn.LSTM measured in the same run, in fp32 and in the same dtype. The CPU's bf16 path
(AMX, avx512_bf16 or none) is printed with the GEMM rates: ratios only compare within one machine.
`roofline` is the fraction of the time the step's matmul FLOPs would take at this machine's measured
GEMM rate for that dtype. `saved_mb` is the memory of the tensors kept for backward (on CUDA, `peak_mb`
is the allocator's peak).
"""

import argparse
import json
import statistics
import time

import torch

from lit_poetry import hardware
from lit_poetry.models import gemm
from lit_poetry.models.lstm_lm import LSTMLM, FusedLSTMLM, TorchLSTMLM

DTYPES = {"fp32": None, "bf16": torch.bfloat16}
DEFAULT_ROUTE = gemm.ROUTE  # gemm.py's route on this machine, before a variant changes it


def gemm_rate(dtype, device, n=3072, k=512, m=5500, reps=10) -> float:
    """Measured GFLOP/s of an (n, k) @ (k, m) matmul on gemm.py's default route: the roofline for this dtype."""
    a = torch.randn(n, k, device=device, dtype=dtype or torch.float32)
    b = torch.randn(k, m, device=device, dtype=dtype or torch.float32)
    times = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        gemm.mm(a, b)
        sync(device)
        times.append(time.perf_counter() - t)
    return 2 * n * k * m / min(times[1:]) / 1e9


def bf16_path(device) -> str:
    """How this machine runs bf16 matmuls: the CPU's name and AMX, avx512_bf16, avx_ne_convert or none
    (torch.cpu.get_capabilities(), as trainer.precision=auto reads it), or the GPU's name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    caps = hardware.cpu_capabilities()
    path = next((name for flag, name in [("amx_bf16", "AMX"), ("avx512_bf16", "avx512_bf16"),
                                         ("avx_ne_convert", "avx_ne_convert"), ("bf16", "bf16")] if caps.get(flag)),
                "none (emulated)")
    return f"{path} ({hardware.cpu_name(caps)})"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def parse_impl(name: str) -> tuple[str, tuple[str, bool]]:
    """"fused-torch-nokernel" -> ("fused", ("torch", False)): the impl, then gemm.py's route for every matmul
    that goes through it (the fused LSTM's, the fp32 output layer's) and whether the C step kernel runs."""
    impl, *options = name.split("-")
    if set(options) - {*gemm.ROUTES, "nokernel"}:
        raise SystemExit(f"--impls: {name}: a variant is one of {', '.join(gemm.ROUTES)}, nokernel")
    return impl, (next((o for o in options if o in gemm.ROUTES), DEFAULT_ROUTE), "nokernel" not in options)


NETWORKS = {"torch": TorchLSTMLM, "autograd": LSTMLM, "fused": FusedLSTMLM}  # --impls names -> configs/model/


def network(impl: str, variant: tuple[str, bool], args):
    """The model of one impl and variant (configs/model/*lstm.yaml: matmul, and step_kernel for fused)."""
    route, kernel = variant
    backend = {"step_kernel": kernel} if impl == "fused" else {}
    return NETWORKS[impl](args.vocab, args.embed, args.hidden, matmul=route, **backend)


class Case:
    """One impl x dtype x scope: a model, its inputs and a callable doing one timed iteration."""

    def __init__(self, impl, dtype_name, scope, args, device):
        torch.manual_seed(0)
        self.impl, self.dtype_name, self.scope = impl, dtype_name, scope
        self.dtype, self.device = DTYPES[dtype_name], device
        B, T = args.batch, args.seq
        impl, self.variant = parse_impl(impl)
        self.model = network(impl, self.variant, args).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.ids = torch.randint(4, args.vocab, (B, T + 1), device=device)
        self.x = torch.randn(B, T, args.embed, device=device)
        self.tokens = B * T
        H, E, V = args.hidden, args.embed, args.vocab
        lstm_flops = 3 * 2 * B * T * 4 * H * (E + H)  # forward + two backward GEMMs per weight
        self.flops = lstm_flops + (3 * 2 * B * T * H * V if scope == "step" else 0)

    def run(self):
        with torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            if self.scope == "step":
                loss, _, _ = self.model.loss(self.ids[:, :-1], self.ids[:, 1:], ignore_id=0)
            else:
                out, _ = self.model.lstm(self.x)
                loss = out.float().square().mean()
        loss.backward()
        if self.scope == "step":
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync(self.device)

    def saved_mb(self) -> float:
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            self.run()
        return total / 2**20


def add_shape_args(ap: argparse.ArgumentParser) -> None:
    """The report's shapes, B=64 T=48 E=256 H=512 V=5500 (also used by profile_step.py)."""
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=48)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=5500)


def runs_here(dtype: str, device: torch.device) -> bool:
    """bf16 on a CPU needs oneDNN's bf16 (nn.LSTM, the reference, has no other route): else one line, skipped."""
    if dtype == "bf16" and device.type == "cpu" and not gemm.onednn_takes_bf16():
        print("bf16: skipped, oneDNN refuses bf16 on this CPU (AVX2 without avx512): nn.LSTM cannot run it")
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shape_args(ap)
    ap.add_argument("--impls", default="torch,autograd,fused")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--scopes", default="step,lstm")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtypes = [d for d in args.dtypes.split(",") if runs_here(d, device)]

    cases = [Case(i, d, s, args, device) for s in args.scopes.split(",") for i in args.impls.split(",")
             for d in dtypes]
    # nn.LSTM in fp32 and in each dtype: measured even when not asked for, every ratio is against them
    reference = {(c.scope, c.dtype_name): c for c in cases if c.impl == "torch"}
    for scope in args.scopes.split(","):
        for dtype in {"fp32", *dtypes}:
            reference.setdefault((scope, dtype), Case("torch", dtype, scope, args, device))
    runs = list({id(c): c for c in [*cases, *reference.values()]}.values())
    for case in runs:  # warm-up (oneDNN primitive creation, allocator)
        case.run()
    times = {id(c): [] for c in runs}
    for _ in range(args.rounds):
        for case in runs:
            t = time.perf_counter()
            case.run()
            times[id(case)].append(time.perf_counter() - t)
    rates = {d: gemm_rate(DTYPES[d], device) for d in dtypes}

    records = []
    for case in cases:
        ms = statistics.median(times[id(case)]) * 1e3
        ref_ms = statistics.median(times[id(reference[(case.scope, "fp32")])]) * 1e3
        same_ms = statistics.median(times[id(reference[(case.scope, case.dtype_name)])]) * 1e3
        record = {
            "impl": case.impl, "dtype": case.dtype_name, "scope": case.scope,
            "median_ms": round(ms, 1), "tokens_per_s": round(case.tokens / ms * 1e3),
            "ratio_vs_torch_fp32": round(ref_ms / ms, 3),
            "ratio_vs_torch_same_dtype": round(same_ms / ms, 3),
            "roofline": round(case.flops / (rates[case.dtype_name] * 1e9) / (ms / 1e3), 3),
            "saved_mb": round(case.saved_mb(), 1),
        }
        if device.type == "cuda":
            record["peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        records.append(record)

    if args.json:
        print(json.dumps({"shapes": vars(args), "bf16_path": bf16_path(device), "matmul_route": DEFAULT_ROUTE,
                          "gemm_gflops": {k: round(v) for k, v in rates.items()},
                          "threads": torch.get_num_threads(), "records": records}, indent=1))
        return
    print(f"B={args.batch} T={args.seq} E={args.embed} H={args.hidden} V={args.vocab}, "
          f"{torch.get_num_threads()} threads, bf16 path: {bf16_path(device)}, matmuls: {DEFAULT_ROUTE}, GEMM GFLOP/s: "
          + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    print(f"{'scope':<6}{'impl':<16}{'dtype':<6}{'median ms':>10}{'tokens/s':>10}{'vs torch fp32':>15}"
          f"{'vs torch same':>15}{'roofline':>10}{'saved MB':>10}")
    for r in records:
        print(f"{r['scope']:<6}{r['impl']:<16}{r['dtype']:<6}{r['median_ms']:>10.1f}{r['tokens_per_s']:>10}"
              f"{r['ratio_vs_torch_fp32']:>14.2f}x{r['ratio_vs_torch_same_dtype']:>14.2f}x"
              f"{r['roofline']:>10.2f}{r['saved_mb']:>10.1f}")


if __name__ == "__main__":
    main()

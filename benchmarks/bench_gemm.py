"""GFLOP/s of the fused LSTM's and the output layer's matmuls on each route of gemm.py, on this CPU.

    python benchmarks/bench_gemm.py                   # report shapes: B=64 T=48 E=256 H=512 V=5500
    python benchmarks/bench_gemm.py --hidden 768 --embed 768

Which library multiplies fastest differs between CPUs (MKL's sgemm or oneDNN, packed or not), so
gemm.py's routes are measured side by side: "torch" is torch.mm / F.linear (MKL in fp32, oneDNN in
bf16); "onednn" packs W_h once for the time loop's T products (the packing is timed with them, as in
training) and runs the one-per-pass fp32 GEMMs through oneDNN's linear; "mkl" packs W_h for MKL (fp32,
time loop only). Medians of --reps calls; run on a quiet machine.
"""

import argparse
import statistics
import time

import torch
from bench_lstm import DTYPES, add_shape_args, bf16_path  # benchmarks/ is this script's folder, so on sys.path

from lit_poetry.models import gemm


def median_s(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def routed(route: str, fn):
    """fn() with gemm.py on `route`."""
    def run():
        gemm.ROUTE = route
        fn()
    return run


def cases(dtype: torch.dtype, B: int, T: int, E: int, H: int, V: int) -> dict:
    """name -> (FLOPs, a function doing those matmuls once)."""
    g = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g).to(dtype)

    h, dnet, w_h, w_x, x = randn(B, H), randn(B, 4 * H), randn(H, 4 * H), randn(E, 4 * H), randn(T * B, E)
    flat, h_prev, w_out = randn(T * B, 4 * H), randn(T * B, H), randn(V, H)

    def time_loop(inputs, weight):  # one pass: the weight prepared once, then T products
        step = gemm.StepMatmul(weight, B)
        for _ in range(T):
            step.product(inputs)

    step_flops = 2 * B * H * 4 * H * T
    return {
        f"step h @ W_h ({B}x{H} @ {H}x{4 * H}) x{T}": (step_flops, lambda: time_loop(h, w_h)),
        f"step dnet @ W_h^T ({B}x{4 * H} @ {4 * H}x{H}) x{T}": (step_flops, lambda: time_loop(dnet, w_h.t())),
        f"input projection ({T * B}x{E} @ {E}x{4 * H})": (2 * T * B * E * 4 * H, lambda: gemm.mm(x, w_x)),
        f"dW_h ({H}x{T * B} @ {T * B}x{4 * H})": (2 * T * B * H * 4 * H, lambda: gemm.mm(h_prev.t(), flat)),
        f"output layer ({T * B}x{H} @ {H}x{V})": (2 * T * B * H * V, lambda: gemm.linear(h_prev, w_out, None)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shape_args(ap)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    default_route = gemm.ROUTE
    routes = [r for r in gemm.ROUTES if r != "onednn" or gemm.ONEDNN]
    print(f"{torch.get_num_threads()} threads, bf16 path: {bf16_path(torch.device('cpu'))}, "
          f"default route: {default_route}")
    print(f"{'matmul':<48}{'dtype':<6}" + "".join(f"{r:>9}" for r in routes) + "   (GFLOP/s)")
    for name, autocast_dtype in DTYPES.items():
        dtype = autocast_dtype or torch.float32  # DTYPES: None is plain fp32
        for case, (flops, fn) in cases(dtype, args.batch, args.seq, args.embed, args.hidden, args.vocab).items():
            rates = []
            for route in routes:
                if route == "mkl" and (dtype != torch.float32 or not case.startswith("step")):
                    rates.append("-")  # MKL's packed GEMM: fp32, and only for the time loop's products
                    continue
                rates.append(f"{flops / median_s(routed(route, fn), args.reps) / 1e9:.0f}")
            print(f"{case:<48}{name:<6}" + "".join(f"{r:>9}" for r in rates))
    gemm.ROUTE = default_route


if __name__ == "__main__":
    main()

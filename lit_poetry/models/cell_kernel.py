"""The fused LSTM's per-step elementwise work as one C kernel (csrc/lstm_cell.c), compiled on first use.

In torch ops a time step is ~9 small kernels over (B, H) (sigmoid, tanh, products, casts), each a
dispatch and a pass over memory; the C kernel does a step in one pass, forward and backward, and
fused_lstm.py calls it through ctypes between the matmuls, which stay in torch.

It is built with the system C compiler ($CC, else `cc`), compiled with -O3 -march=native -ffast-math
(glibc's vectorised expf and tanhf) and linked without it (linked with it, gcc adds a start-up routine
that turns on flush-to-zero in the thread that loads the library, so for torch's own arithmetic there),
into the cache folder ($LIT_POETRY_CACHE, else ~/.cache/lit_poetry) under a name made from the source,
the flags and the CPU's feature flags: cluster nodes that share a home folder each build for their own
CPU. The build is written to a temporary name and renamed, so ranks that start together do not read a
half-written library. Without a compiler, or with LIT_POETRY_CELL_KERNEL=0, the fused LSTM runs its
steps in torch ops (the same results within fp32 rounding); a missing compiler or a failed build is
said once, in a warning.
"""

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
from pathlib import Path

import torch

from lit_poetry.resources import atomic_path, user_cache_dir

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("csrc") / "lstm_cell.c"
COMPILE = ["-O3", "-march=native", "-ffast-math", "-fopenmp-simd", "-fPIC", "-c"]
LINK = ["-shared"]
P, I64, INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
ENABLED = True  # False: the torch steps even where the kernel builds (benchmarks/bench_lstm.py's fused-nokernel)


def cpu_features() -> str:
    """The CPU's feature flags (what -march=native compiles for), or the platform's name where unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith(("flags", "Features"))), platform.processor())
    except OSError:
        return platform.machine() + platform.processor()


class _CompileError(Exception):
    pass


def build(compiler: str, library: Path) -> str | None:
    """Compile SOURCE into `library`; None, or why it could not be built. The library appears whole or not
    at all (atomic_path): a rank that starts at the same time never loads a half-written file."""
    try:
        with atomic_path(library) as tmp:
            obj = tmp.with_suffix(".o")
            try:
                for command in ([compiler, *COMPILE, "-o", obj, SOURCE], [compiler, *LINK, "-o", tmp, obj, "-lm"]):
                    try:
                        result = subprocess.run(list(map(str, command)), capture_output=True, text=True)
                    except OSError as error:  # the compiler vanished or cannot run
                        raise _CompileError(f"{compiler} could not run ({error})") from None
                    if result.returncode != 0:
                        raise _CompileError(result.stderr.strip())
            finally:
                obj.unlink(missing_ok=True)
    except _CompileError as error:
        return f"did not build:\n{error}"
    except OSError as error:  # e.g. a read-only home folder
        return f"has no folder to be built in ({error})"
    return None


@functools.cache
def load() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use; None (said once, in a warning) where there is none."""
    if os.environ.get("LIT_POETRY_CELL_KERNEL", "1") == "0":
        return None
    wanted = os.environ.get("CC", "cc")
    compiler = shutil.which(wanted) or (shutil.which("gcc") if "CC" not in os.environ else None)
    key = hashlib.sha256(b"\0".join([SOURCE.read_bytes(), " ".join([str(compiler), *COMPILE, *LINK]).encode(),
                                     cpu_features().encode()]))
    library = user_cache_dir() / f"lstm_cell-{key.hexdigest()[:16]}.so"
    problem = None if library.exists() else (
        build(compiler, library) if compiler else f"needs a C compiler ({wanted} not found; install gcc or set CC)")
    if problem is None:
        try:
            lib = ctypes.CDLL(str(library))
        except OSError as error:  # e.g. a cache folder mounted noexec
            problem = f"cannot be loaded ({error})"
    if problem is not None:
        log.warning(f"fused LSTM: the step kernel {problem}; its time steps run in torch ops (slower)")
        return None
    lib.lstm_forward_step.argtypes = [P, P, P, P, P, P, P, INT, I64, I64]
    lib.lstm_backward_step.argtypes = [P, P, P, P, I64, P, P, P, INT, I64, I64]
    lib.lstm_forward_step.restype = lib.lstm_backward_step.restype = None
    if not _answers_right(lib):
        log.warning("fused LSTM: the step kernel gives wrong numbers on this machine; its time steps run in "
                    "torch ops (slower)")
        return None
    return lib


def _answers_right(lib: ctypes.CDLL) -> bool:
    """One tiny forward step against its formula: gates (1, 4) = 1, W_h product 0, C_prev 1 (H = 1)."""
    gates, hw, c_prev = torch.ones(1, 4), torch.zeros(1, 4), torch.ones(1, 1)
    c, tanh_c, h = torch.empty(1, 1), torch.empty(1, 1), torch.empty(1, 1)
    lib.lstm_forward_step(gates.data_ptr(), hw.data_ptr(), c_prev.data_ptr(), c.data_ptr(), tanh_c.data_ptr(),
                          h.data_ptr(), None, False, 1, 1)
    s, t = torch.sigmoid(torch.tensor(1.0)), torch.tanh(torch.tensor(1.0))
    expected_c = s * 1.0 + s * t  # f * C_prev + i * g
    return bool(torch.allclose(c, expected_c, atol=1e-5) and torch.allclose(h, s * torch.tanh(expected_c), atol=1e-5))


def applies(device: torch.device, state_dtype: torch.dtype, mm_dtype: torch.dtype, wanted: bool = True) -> bool:
    """Whether the kernel serves this layer: wanted (`model.step_kernel`), on CPU, fp32 state, matmuls in
    fp32 or bf16, and built here."""
    return (wanted and ENABLED and device.type == "cpu" and state_dtype == torch.float32
            and mm_dtype in (torch.float32, torch.bfloat16) and load() is not None)


def forward_step(gates_t, hw, c_prev, c, tanh_c, h, h_bf16) -> None:
    """gates_t (B, 4H): in x_t W_x + b, out the activations; hw (B, 4H) = h_{t-1} W_h in the matmul dtype;
    c_prev (B, H) -> c, tanh_c, h (B, H); h_bf16 (B, H): h_t for the next matmul, when that is bf16."""
    B, H = c.shape
    load().lstm_forward_step(gates_t.data_ptr(), hw.data_ptr(), c_prev.data_ptr(), c.data_ptr(),
                             tanh_c.data_ptr(), h.data_ptr(), h_bf16.data_ptr() if h_bf16 is not None else None,
                             hw.dtype == torch.bfloat16, B, H)


def backward_step(gates_t, c_prev, tanh_c, dh_out, dh_next, dc, dnet_t) -> None:
    """dh_out (B, H): ∂loss/∂h_t from the output (rows may be strided); dh_next (B, H): dnet_{t+1} W_h^T, or
    None at the last step; dc (B, H) in place: ∂loss/∂C_t in, ∂loss/∂C_{t-1} out; dnet_t (B, 4H) out."""
    B, H = dc.shape
    load().lstm_backward_step(gates_t.data_ptr(), c_prev.data_ptr(), tanh_c.data_ptr(), dh_out.data_ptr(),
                              dh_out.stride(0), dh_next.data_ptr() if dh_next is not None else None,
                              dc.data_ptr(), dnet_t.data_ptr(), dnet_t.dtype == torch.bfloat16, B, H)

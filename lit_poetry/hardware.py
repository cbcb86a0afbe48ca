"""What this machine runs, asked of torch once: native bf16, the CUDA generation, and whether an optional
op (oneDNN or MKL packing, the C step kernel) works here, by a tiny call.

Precision from the hardware (`trainer.precision=auto`, every recipe's default):

    bf16-mixed   CPU with avx512_bf16, amx_bf16 or avx_ne_convert; aarch64 with bf16; CUDA capability >= 8.0
    16-mixed     CUDA GPUs before 8.0 (V100, T4: fp16 tensor cores, no bf16)
    32-true      elsewhere (AVX2 laptops, avx512 without bf16: bf16 is emulated there, several times slower),
                 and where oneDNN, which runs the matmuls, is limited below its bf16 kernels (ONEDNN_MAX_CPU_ISA)

The probes are plain functions (`cpu_capabilities`, `cuda_capability`) so that tests can stand in for
"this CPU has no bf16" or "CUDA capability 7.0" on any machine.
"""

import logging
import os
import platform
import warnings
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "avx_ne_convert", "bf16", "sve_bf16")  # x86; aarch64


def cpu_capabilities() -> dict:
    """torch's view of the CPU's instruction sets (`torch.cpu.get_capabilities()`), with its architecture."""
    caps = dict(torch.cpu.get_capabilities()) if hasattr(torch.cpu, "get_capabilities") else {}
    caps.setdefault("architecture", platform.machine())
    return caps


def cuda_capability() -> tuple[int, int] | None:
    """The first CUDA GPU's compute capability, or None without one."""
    return torch.cuda.get_device_capability() if torch.cuda.is_available() else None


# oneDNN's ISA names (ONEDNN_MAX_CPU_ISA) at which it runs bf16 matmuls natively; below them it refuses
# bf16 and torch falls back to a reference kernel, tens of times slower than fp32
ONEDNN_BF16_ISAS = ("AVX2_VNNI_2", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX",
                    "AVX512_CORE_AMX_FP16", "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16",
                    "AVX10_2_512", "AVX10_2_512_AMX_2", "ALL", "DEFAULT")


def onednn_bf16_refused() -> str | None:
    """Why oneDNN will not run bf16 here although the CPU may (its ISA limited below bf16 by
    ONEDNN_MAX_CPU_ISA, as in a container or under the CI's AVX2 simulation), or None."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        limit = os.environ.get(name, "").strip()
        if limit and limit.upper() not in ONEDNN_BF16_ISAS:
            return f"oneDNN is limited to {limit} ({name}), below its bf16 kernels"
    return None


def cpu_bf16_native(caps: dict | None = None) -> bool:
    """Whether bf16 matmuls run natively here: the CPU has bf16 instructions and oneDNN, which runs the
    matmuls, is allowed to use them (else they are emulated, or refused by oneDNN)."""
    caps = cpu_capabilities() if caps is None else caps
    return any(caps.get(flag) for flag in NATIVE_BF16_CPU_FLAGS) and onednn_bf16_refused() is None


def no_bf16_reason(caps: dict) -> str:
    """Why `cpu_bf16_native` is False, in a few words."""
    if any(caps.get(flag) for flag in NATIVE_BF16_CPU_FLAGS):
        return f"the CPU ({cpu_name(caps)}) has bf16 but {onednn_bf16_refused()}"
    return f"the CPU ({cpu_name(caps)}) has no native bf16"


def cpu_name(caps: dict | None = None) -> str:
    caps = cpu_capabilities() if caps is None else caps
    return str(caps.get("cpu_name") or caps.get("architecture") or "CPU")


def uses_cuda(accelerator: str) -> bool:
    return str(accelerator) in ("gpu", "cuda") or (str(accelerator) == "auto" and cuda_capability() is not None)


def auto_precision(accelerator: str = "auto") -> tuple[str, str]:
    """(Lightning precision, why) for this machine and trainer accelerator."""
    if uses_cuda(accelerator):
        cap = cuda_capability()
        if cap is None:
            return "32-true", "no CUDA GPU is visible"
        name = f"CUDA capability {cap[0]}.{cap[1]}"
        return ("bf16-mixed", f"{name} has bf16 tensor cores") if cap >= (8, 0) else \
            ("16-mixed", f"{name} has fp16 but no bf16 tensor cores")
    caps = cpu_capabilities()
    if cpu_bf16_native(caps):
        return "bf16-mixed", f"the CPU ({cpu_name(caps)}) has native bf16"
    return "32-true", f"{no_bf16_reason(caps)} (bf16 would be emulated, slower than fp32)"


def resolve_precision(precision, accelerator: str = "auto") -> str:
    """`auto` -> this machine's precision (said in one line); an explicit bf16 on a CPU without native bf16
    runs, with one warning that it is slower there than 32-true."""
    precision = str(precision)
    if precision == "auto":
        chosen, why = auto_precision(accelerator)
        log.info(f"trainer.precision=auto -> {chosen}: {why}")
        return chosen
    caps = cpu_capabilities()
    if precision.startswith("bf16") and not uses_cuda(accelerator) and not cpu_bf16_native(caps):
        warnings.warn(f"trainer.precision={precision} where bf16 is not native ({no_bf16_reason(caps)}): bf16 is "
                      "emulated here and slower than 32-true (trainer.precision=auto chooses 32-true)", stacklevel=2)
    return precision


def reset_peak_memory(device: torch.device) -> None:
    """Start `peak_memory_mb` afresh: the jobs of a multirun share one process, and each reports its own peak.
    On Linux the kernel resets the process's peak resident size (VmHWM) on request; elsewhere the CPU peak
    stays the process's (said by peak_memory_mb's reader: the first job of a sweep is exact)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux, or a kernel that refuses
        pass


def peak_memory_mb(device: torch.device) -> float:
    """The most memory held since `reset_peak_memory` (else since the process began): on a GPU, what torch
    allocated there; on a CPU, the process's peak resident size (weights, activations, data and libraries)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        with open("/proc/self/status") as f:  # Linux: VmHWM, which reset_peak_memory resets
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 2**10  # KiB
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import resource  # Unix only
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if platform.system() == "Darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def enable_tf32() -> None:
    """TF32 matmuls on CUDA >= 8.0 (fp32 models run on tensor cores; the mixed precisions are unaffected)."""
    cap = cuda_capability()
    if cap is not None and cap >= (8, 0):
        torch.set_float32_matmul_precision("high")


# process-wide on purpose: an op that fails here fails for the whole process, and asking once keeps its
# warning to one line however many models are built (forget_probes: tests that simulate a failure)
_WORKS: dict[str, bool] = {}


def works(name: str, attempt: Callable[[], object]) -> bool:
    """Whether `attempt` (a tiny call of an optional op, which raises where it fails or gives other numbers
    than torch) runs here; asked once per name, and a failure is said once, in a warning naming what is
    used instead."""
    if name not in _WORKS:
        try:
            attempt()
            _WORKS[name] = True
        except Exception as error:  # any failure means: do not use this op here
            warnings.warn(f"{name} does not run right on this machine ({type(error).__name__}: {str(error)[:160]}); "
                          "using the plain torch route instead", stacklevel=2)
            _WORKS[name] = False
    return _WORKS[name]


def forget_probes() -> None:
    """Ask every optional op again at its next use (tests that simulate a failing op)."""
    _WORKS.clear()

#!/usr/bin/env bash
# On a machine with NVIDIA GPUs (make gpu-check): the model tests on CUDA, the LSTM benchmark on CUDA,
# and a short DDP training on every visible GPU; a report with the GPU's name lands in
# logs/gpu-check/report.md (the figures for docs/results.md).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
out="logs/gpu-check"
mkdir -p "$out"
gpus="$("$PY" -c 'import torch; print(torch.cuda.device_count())')"
if [ "$gpus" = 0 ]; then
  echo "no CUDA GPU is visible to torch: nothing to check (install the CUDA build of torch 2.13.0)" >&2
  exit 1
fi
export WANDB_MODE=offline
status=0
{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null \
    || "$PY" -c 'import torch; print(torch.cuda.get_device_name(0))'
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  echo '```'
} > "$out/report.md"

run() {  # run <title> <command...>: the command's tail into the report, its status remembered
  local title="$1"; shift
  echo "== $title"
  local log="$out/$(echo "$title" | tr ' /' '__').log"
  "$@" > "$log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || status=1
  { echo; echo "## $title (exit $rc)"; echo; echo '```'; echo "\$ $*"; tail -n 25 "$log"; echo '```'; } >> "$out/report.md"
}

run "model tests on cuda" "$PY" -m pytest -q --device cuda tests/test_lstm.py tests/test_fused_lstm.py
run "LSTM benchmark on cuda" "$PY" benchmarks/bench_lstm.py --device cuda --rounds 5
run "DDP on ${gpus} GPUs" "$PY" train.py trainer=ddp trainer.devices="$gpus" trainer.max_epochs=1 \
  trainer.limit_train_batches=20 logger=csv "~callbacks.rich_progress_bar" trainer.enable_progress_bar=false \
  hydra.run.dir="$out/ddp"
echo "report: $out/report.md"
exit $status

#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtualenv, and use it far from the checkout: every console
# script answers --help, a few training steps run on the small corpus and the checkpoint writes a poem.
#   bash scripts/check_wheel.sh            (make wheel-check; .ci/run runs it)
# Needs the project's .venv (for the build tools) and nothing else: no data, no checkout around.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.venv/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/dist" .
python3 -m venv "$work/venv"
pip_install() { "$work/venv/bin/pip" install --quiet "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
pip_install torch==2.13.0
wheel="$(ls "$work"/dist/lit_poetry-*.whl)"
pip_install -c requirements/tested.txt "${wheel}[web]"  # the page too: it serves the shipped model below
cd "$work"  # no checkout here: the configs must come from the installed package
for cmd in train generate app evaluate export stats plot metre download numpy-train gradcheck; do
  "$work/venv/bin/lit-poetry-$cmd" --help > "help-$cmd.txt"
  echo "lit-poetry-$cmd --help: ok"
done
export WANDB_MODE=offline
# the fused LSTM's step kernel builds from the source the wheel ships
HOME="$work/home" "$work/venv/bin/python" -c "from lit_poetry.models import cell_kernel; assert cell_kernel.load()"
echo "step kernel: ok"
# no data directory: the small corpus must come from the wheel
env -u LIT_POETRY_DATA HOME="$work/home" "$work/venv/bin/lit-poetry-train" trainer=cpu trainer.max_epochs=1 trainer.limit_train_batches=3 trainer.limit_val_batches=2 \
  model.embedding_dim=16 model.hidden_size=24 logger=csv callbacks.sample_poems.starts=日 \
  trainer.enable_progress_bar=false "~callbacks.rich_progress_bar" hydra.run.dir="$work/run" paths.cache_dir="$work/cache"
"$work/venv/bin/lit-poetry-generate" ckpt_path="$work/run/checkpoints/last.ckpt" start=日 form=wujue seed=0 \
  | tee poem.txt
test "$(wc -l < poem.txt)" -eq 4
# the model inside the wheel: generation, evaluation and the page with no ckpt_path, offline, from here
python3 -m zipfile -l "$work"/dist/lit_poetry-*.whl | grep "lit_poetry/assets/tang.pt" > /dev/null  # grep -q would close the pipe early (pipefail)
"$work/venv/bin/lit-poetry-generate" start=月 form=wujue seed=0 > shipped.txt 2> shipped.err
cat shipped.txt shipped.err
test "$(wc -l < shipped.txt)" -eq 5 && grep -q "^model: " shipped.err  # its title (titles.txt, in the wheel too) and 4 lines
head -1 shipped.txt | grep -q "^《"
if [ -d "${LIT_POETRY_DATA:-/nonexistent}/chinese-poetry" ]; then  # 唐诗三百首, read with the model's settings
  "$work/venv/bin/lit-poetry-evaluate" data=tang300 split=all quality.num_samples=1 paths.cache_dir="$work/cache" \
    | tee eval.txt
  grep -q "perplexity" eval.txt
fi
"$work/venv/bin/lit-poetry-app" port=7871 > app.log 2>&1 &
app=$!
fetch='import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:7871/").read().decode())'
for _ in $(seq 60); do no_proxy=127.0.0.1 python3 -c "$fetch" > page.html 2> /dev/null && break; sleep 1; done
kill "$app" 2> /dev/null || true
grep -q "lit-poetry\|gradio" page.html || { cat app.log; exit 1; }
grep "^model: " app.log
echo "wheel check: ok"

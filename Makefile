# make train | make test | make bench | make lint | make wheel-check   (a virtualenv in .venv is created on first use)
VENV ?= .venv
PY := $(VENV)/bin/python
# corpora: $LIT_POETRY_DATA if set, else ../shared/data beside the checkout if it exists, else the code's
# default (the built-in small corpus; the large ones download into ~/.cache/lit_poetry/data on first use)
ifneq ($(wildcard ../shared/data),)
LIT_POETRY_DATA ?= $(abspath ../shared/data)
export LIT_POETRY_DATA
endif

# the tests' cache (tone table, compiled kernel, processed corpora): one per checkout, never the user's ~/.cache
TEST_ENV := WANDB_MODE=offline LIT_POETRY_CACHE=$${LIT_POETRY_CACHE:-$(CURDIR)/.test-cache}

.PHONY: install train test test-lowest lint bench stats wheel-check slurm gpu-check
install: $(VENV)/.installed
$(VENV)/.installed: setup.py requirements/tested.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0  # the CPU build; GPU users install their CUDA build first
	$(PY) -m pip install --quiet -c requirements/tested.txt -e ".[dev,cluster,web]"  # the tests cover the cluster parts and the page too
	touch $@

# the model, training and generation tests against the lowest versions setup.py allows (a second virtualenv)
LOWEST_TESTS := tests/test_lstm.py tests/test_fused_lstm.py tests/test_hardware.py tests/test_schedules.py \
	tests/test_training.py tests/test_generation.py
test-lowest:
	python3 -m venv .venv-lowest
	.venv-lowest/bin/pip install --quiet torch==2.13.0
	.venv-lowest/bin/pip install --quiet -c requirements/lowest.txt ".[dev]"
	$(TEST_ENV) .venv-lowest/bin/python -m pytest -q -p no:cacheprovider -m "not slow" $(LOWEST_TESTS)

# the model, training, generation and benchmark-smoke tests on a simulated CPU without bf16: oneDNN and ATen
# limited to AVX2, as on an AVX2 laptop, whatever this machine's CPU has (hardware.py asks oneDNN's limit)
AVX2 := ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
AVX2_TESTS := tests/test_lstm.py tests/test_fused_lstm.py tests/test_hardware.py tests/test_generation.py
AVX2_RUNS := "tests/test_readme_commands.py::test_the_readme_command_runs[python train.py experiment=tang_best]" \
	"tests/test_readme_commands.py::test_the_readme_command_runs[python benchmarks/bench_lstm.py --rounds 9]" \
	"tests/test_readme_commands.py::test_the_readme_command_runs[python benchmarks/bench_gemm.py]"
test-avx2: install  ## the model, training, generation and benchmark tests on a simulated AVX2 CPU (no bf16)
	$(AVX2) $(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider -m "not slow" $(AVX2_TESTS)
	$(AVX2) $(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider $(AVX2_RUNS)  # marked slow: named here

train: install  ## train on the small corpus (a few minutes on a CPU)
	$(PY) train.py $(ARGS)

test: install  ## the whole test suite
	$(TEST_ENV) $(PY) -m pytest -q $(ARGS)

lint: install  ## style, and the layering contracts of .importlinter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

wheel-check: install  ## build the wheel, install it in a fresh virtualenv, run its commands away from the checkout
	bash scripts/check_wheel.sh

stats: install  ## corpus statistics, e.g. make stats ARGS="data=tang"
	$(PY) -m lit_poetry stats $(ARGS)

bench: install  ## speed benchmarks (ratios against references measured in the same run)
	$(PY) benchmarks/bench_lstm.py $(ARGS)

slurm:  ## a one-node SLURM on this machine (Debian packages, root), for the tests marked slurm
	bash scripts/start_slurm.sh

gpu-check: install  ## on a GPU machine: model tests and benchmark on CUDA, DDP on every GPU -> logs/gpu-check/report.md
	PY=$(PY) bash scripts/gpu_check.sh

# hrgan_plugin: one-command environment, quickstart, tests.
#
#   make install              create .venv/ and install the pinned stack (idempotent)
#   make install MMCV_CUDA=1  same, building mmcv's CUDA ops (needs a CUDA toolkit)
#   make quickstart           train + validate a model on the embedded synthetic data
#   make test                 run the test suite
#   make evidence             paired multi-seed experiments -> docs/evidence/ (hours on CPU)
#   make lint                 ruff

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
MMCV_CUDA ?= 0
STAMP := $(VENV)/.hrgan-installed-cuda$(MMCV_CUDA)

TORCH_SPEC := torch==2.13.0,!=2.13.0+cpu torchvision==0.28.0
MMCV_SPEC := mmcv==2.1.0
STACK_SPEC := mmengine==0.10.7 mmdet==3.3.0 mmpose==1.3.2

DATA_DIR := data/synthetic
QUICKSTART_CFG ?= configs/quickstart/hrgan_synthetic-coco_128x96.py
QUICKSTART_DIR ?= work_dirs/quickstart

.PHONY: install quickstart test test-all lint data bench evidence clean-venv

install: $(STAMP)

$(STAMP): Makefile setup.cfg
	@echo "==> [1/7] virtual environment $(VENV)/"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/7] build tooling (pip, wheel, setuptools<81, cython, ninja)"
	$(PIP) install -q --upgrade pip wheel "setuptools>=77,<81" cython ninja "numpy>=2,<2.4"
	@echo "==> [3/7] torch + matching torchvision from the registry (the CPU-only local file breaks torchvision)"
	$(PIP) install --progress-bar on "$(firstword $(TORCH_SPEC))" "$(lastword $(TORCH_SPEC))"
	@echo "==> [4/7] xtcocotools built from source against the installed numpy"
	$(PIP) install --no-build-isolation --no-binary xtcocotools "xtcocotools>=1.14"
	@echo "==> [5/7] $(MMCV_SPEC) with ops (first build ~10 min on 2 cores; pip reuses its wheel cache afterwards)"
	@if $(PY) -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '2.1.0')" 2>/dev/null; then \
		echo "    mmcv 2.1.0 with ops already installed"; \
	else \
		MMCV_WITH_OPS=1 FORCE_CUDA=$(MMCV_CUDA) MAX_JOBS=$$(nproc) $(PIP) install --no-build-isolation "$(MMCV_SPEC)"; \
	fi
	@echo "==> [6/7] openmim, mmengine, mmdet, mmpose (mmpose without chumpy, which is unused and does not build)"
	$(PIP) install openmim==0.3.9
	$(PIP) install $(STACK_SPEC) --no-deps
	$(PIP) install json_tricks munkres scipy matplotlib pillow shapely terminaltables pycocotools \
		addict rich termcolor yapf "opencv-python<5" tqdm six onnx onnxruntime pytest pytest-xdist ruff \
		seaborn  # for mmpose tools/analysis_tools/analyze_logs.py
	@echo "    restoring setuptools>=77,<81 (openmim's openxlab pins 60.x; torch needs >=77, mmengine pkg_resources)"
	$(PIP) install "setuptools>=77,<81"
	@echo "==> [7/7] hrgan_plugin (editable)"
	$(PIP) install --no-build-isolation --no-deps -e .
	$(PY) -c "import torch, torchvision, mmcv.ops, mmengine, mmdet, mmpose.apis, xtcocotools, hrgan_plugin; \
		print('ready: torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmpose', mmpose.__version__)"
	@touch $@

$(DATA_DIR)/.done: tools/make_synthetic_dataset.py hrgan_plugin/datasets/synthetic_figures.py hrgan_plugin/datasets/synthetic_writer.py | $(STAMP)
	rm -rf $(DATA_DIR)
	$(PY) tools/make_synthetic_dataset.py --out $(DATA_DIR)
	@touch $@

data: $(DATA_DIR)/.done

quickstart: install data
	$(PY) tools/quickstart.py $(QUICKSTART_CFG) --work-dir $(QUICKSTART_DIR)

BENCH_ARGS ?= --iters 5 --warmup 1 --batch 8 --device cpu

# CPU cost comparisons, each pair timed interleaved in one process
bench: install data
	$(PY) tools/benchmark.py configs/hrnet_w32_coco_256x192.py --vs configs/hrgan_w32_coco_256x192.py \
		$(BENCH_ARGS) --out bench_results/hrnet_vs_hrgan.json
	$(PY) tools/benchmark.py configs/hrgan_w32_coco_256x192_small-d.py --vs configs/hrgan_w32_coco_256x192.py \
		$(BENCH_ARGS) --out bench_results/hrgan_small-d_vs_hrnet-d.json
	$(PY) tools/benchmark.py configs/hrnet_w32_coco_256x192.py --vs configs/hrnet_w32_asr-aho_coco_256x192.py \
		$(BENCH_ARGS) --out bench_results/hrnet_vs_asr-aho.json
	$(PY) tools/benchmark.py configs/hg8_res_mpii_256x256.py --vs configs/hg8_hru-deconv_mpii_256x256.py \
		$(BENCH_ARGS) --out bench_results/hg8_res_vs_hru-deconv.json

GPU_CHECK_ARGS ?=

# On a machine with CUDA GPUs: what the CPU tests cannot check (AMP gradients,
# ASR/AHO per precision, --resume, channels-last, NCCL, throughput); report in
# work_dirs/gpu_check/gpu_check_report.md. Refuses (exit 2) without a GPU.
.PHONY: gpu-check
gpu-check: install data
	bash tools/gpu_check.sh $(GPU_CHECK_ARGS)

EVIDENCE_SPECS ?= hrgan_vs_hrnet adv_aug_vs_random hourglass_units
EVIDENCE_ARGS ?= --device cpu

# Every spec in configs/experiments/ over its seeds; finished runs are kept, so
# an interrupted `make evidence` resumes. Reports are copied to docs/evidence/.
evidence: install
	@for spec in $(EVIDENCE_SPECS); do \
		resume=$$(test -d docs/evidence/$$spec/results && echo --resume-from docs/evidence/$$spec); \
		$(PY) tools/experiment.py configs/experiments/$$spec.py --publish $$resume $(EVIDENCE_ARGS) || exit 1; \
	done
	@if [ -d work_dirs/experiments/adv_aug_vs_random/runs ]; then \
		$(PY) tools/learned_distributions.py work_dirs/experiments/adv_aug_vs_random \
			--out docs/evidence/adv_aug_vs_random; \
	fi

# Tests run in TEST_WORKERS processes (pytest-xdist), one intra-op thread each:
# most of a test's time is a fresh process importing torch and mmpose, which
# one core does alone.
TEST_WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest tests -q -n $(TEST_WORKERS)

test: install
	$(PYTEST) -m "not slow" --durations=12

test-all: install
	$(PYTEST)

lint: install
	$(VENV)/bin/ruff check hrgan_plugin tools tests configs

clean-venv:
	rm -rf $(VENV)

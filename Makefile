# Two commands for a fresh machine:  make demo  (the workflow on the embedded data)  and  make test.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
# Pinned: on Linux an unpinned torch pulls a multi-GB CUDA build; the workflow's cluster env (envs/train.yaml)
# brings CUDA where it is needed. Override for a GPU workstation: make demo TORCH='torch'
TORCH ?= torch==2.13.0
CORES ?= all

# One target per study, named after its rule file (workflow/rules/studies/<study>.smk): `make cancer_type`.
STUDIES := $(basename $(notdir $(wildcard workflow/rules/studies/*.smk)))

TARGETS := help demo test test-fast test-walltime system-deps lint benchmark gpu-benchmark mlflow-ui clean $(STUDIES)

.PHONY: $(TARGETS)

# `make help`: every target, one line each (a study's line is the title of its page, docs/studies/<study>.md).
help:
	@echo "make <target>:"
	@echo "  help                 this list"
	@echo "  demo                 the whole workflow (every study) on the embedded demo data"
	@echo "  test                 the whole test suite, on TEST_WORKERS ($(TEST_WORKERS)) workers"
	@echo "  test-fast            the test suite without the end-to-end workflow runs"
	@echo "  test-walltime        the SLURM walltime test alone (a training resumed over several allocations)"
	@echo "  system-deps          check (as root: install) the tools the tests run against"
	@echo "  lint                 snakemake --lint"
	@echo "  benchmark            speed and memory tables (docs/performance.md)"
	@echo "  gpu-benchmark        training throughput and peak memory per model family on this machine's GPU"
	@echo "  mlflow-ui            browse the MLflow runs of results/ (http://127.0.0.1:5000)"
	@echo "  clean                remove results/, resources/ and .snakemake/"
	@for study in $(STUDIES); do \
	  printf '  %-20s %s\n' "$$study" "one study alone: $$(sed -n '1s/^# //p' docs/studies/$$study.md 2>/dev/null)"; \
	done

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet '$(TORCH)'
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# Local jobs run through one fork server (genolm.forkserver): each pays the heavy imports once per server, not per job.
FORKSERVER := GENOLM_FORKSERVER="$(abspath .snakemake/genolm-forkserver)"

demo: $(VENV)/.installed
	$(FORKSERVER) PATH="$(abspath $(VENV))/bin:$$PATH" snakemake --profile profiles/local --cores $(CORES)
	@echo "results: results/tables/metrics.tsv and results/tables/<study>/, figures: results/plots/<study>/, report: snakemake --report results/report.html, MLflow: make mlflow-ui (docs/outputs.md)"

$(STUDIES): $(VENV)/.installed
	$(FORKSERVER) PATH="$(abspath $(VENV))/bin:$$PATH" snakemake --profile profiles/local --cores $(CORES) $@
	@echo "tables (paper tables, summaries, metrics.tsv and their .html): results/tables/$@/, figures: results/plots/$@/, runs, models and logs: results/$@/, report: snakemake $@ --report results/report_$@.html"

# The local MLflow store (config's results_dir, tracking.mlflow_uri null) in the browser, http://127.0.0.1:5000.
# The store's artifact locations name no directory (mlflow-artifacts:/...): this server serves them from beside the
# database, so a results directory that was moved or copied shows its artifacts too.
RESULTS ?= results
MLFLOW_PORT ?= 5000
mlflow-ui: $(VENV)/.installed
	$(VENV)/bin/mlflow ui --port $(MLFLOW_PORT) --backend-store-uri sqlite:///$(RESULTS)/mlflow/mlflow.db \
	  --artifacts-destination $(RESULTS)/mlflow/artifacts

# Real peers the tests run against: bcftools/tabix/samtools (mutation injection), sum (BSD checksums),
# slurm-wlm + munge (the single-node SLURM cluster of tests/slurm_cluster.py), python-pyvcf-examples (a real VCF);
# and libjemalloc2, the allocator training jobs preload (optional: without it they run on glibc's).
PYVCF_EXAMPLE := /usr/share/doc/python3-vcf/test/example-4.0.vcf
system-deps:
	@missing=""; for tool in bcftools bgzip samtools slurmctld slurmd munged; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -f $(PYVCF_EXAMPLE) ] || missing="$$missing python-pyvcf-examples"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bcftools tabix samtools slurm-wlm munge python-pyvcf-examples >/dev/null; \
	  else echo "missing$$missing: install them (Debian: sudo apt-get install bcftools tabix samtools slurm-wlm munge python-pyvcf-examples)"; exit 1; fi; \
	fi
	@# jemalloc: optional (training jobs preload it when present: genolm.runtime, docs/performance.md#allocator).
	@if ! ls /usr/lib/*/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc2 >/dev/null; \
	  else echo "note: jemalloc is not installed (training runs on glibc's allocator; Debian: sudo apt-get install libjemalloc2)"; fi; \
	fi

# Two pytest-xdist workers, a test file at a time: test_slurm.py's tests share one worker and so one test cluster
# (a cluster's jobs find it through /etc/slurm/slurm.conf, which two would fight over), and the workers share one
# end-to-end run (tests/conftest.py), which with the SLURM file goes out first, then the longest files
# (tests/conftest.py orders the collection; xdist's reordering by test count is off), and each test process uses one
# CPU thread (OMP_NUM_THREADS, conftest.py). Not --dist loadgroup: pytest 9.2 ignores the node ids pytest-xdist 3.8
# renames.
TEST_WORKERS ?= 2
test: $(VENV)/.installed system-deps
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: $(VENV)/.installed
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/python -m pytest -m "not slow"

# Not part of `make test` (its allocations depend on the machine's speed): tests/test_slurm_walltime.py.
test-walltime: $(VENV)/.installed system-deps
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/python -m pytest -m walltime tests/test_slurm_walltime.py

lint: $(VENV)/.installed
	PATH="$(abspath $(VENV))/bin:$$PATH" snakemake --lint

# The benchmarks' own dependencies (einops, for the reference HyenaDNA they compare against).
$(VENV)/.bench-installed: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e '.[dev,bench]'
	touch $@

# Full-scale training throughput per model family on one GPU (under 10 minutes): the table genolm plan-compute
# reads (compute.throughput_table); docs/performance.md, "Full-scale compute".
gpu-benchmark: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/gpu_benchmark.py --out benchmarks/results/gpu_benchmark.json

# HyenaDNA: docs/performance.md explains each table; the reference is installed pinned on first use.
benchmark: $(VENV)/.bench-installed
	$(VENV)/bin/python benchmarks/bench_limits.py
	$(VENV)/bin/python benchmarks/bench_materialize.py
	$(VENV)/bin/python benchmarks/bench_hyenadna.py ratios
	$(VENV)/bin/python benchmarks/bench_hyenadna.py memory
	$(VENV)/bin/python benchmarks/bench_loader.py
	$(VENV)/bin/python benchmarks/bench_full_scale.py
	$(VENV)/bin/python benchmarks/bench_tokenizers.py
	$(VENV)/bin/python benchmarks/bench_models.py
	$(VENV)/bin/python benchmarks/bench_mlm.py
	$(VENV)/bin/python benchmarks/bench_bootstrap.py

clean:
	rm -rf results resources .snakemake

# The Makefile and pyproject.toml are sources, never made: without these empty rules the fallback below would be
# tried for them.
Makefile pyproject.toml: ;

# A misspelt target: say which names exist instead of make's bare "No rule to make target".
%:
	@echo "make: no target '$@'. Valid targets: $(TARGETS)" >&2
	@echo "('make help' says what each does)" >&2
	@exit 1

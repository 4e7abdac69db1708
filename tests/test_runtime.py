"""genolm.runtime: a training command re-executes itself with jemalloc preloaded (when installed), nothing else
does; the commands that do not train import neither Lightning nor transformers when they start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genolm.cli import command_names
from genolm.runtime import JEMALLOC_CONF, find_jemalloc

SRC = Path(__file__).resolve().parents[1] / "src"

needs_jemalloc = pytest.mark.skipif(find_jemalloc() is None, reason="jemalloc is not installed here "
                                    "(Debian: libjemalloc2, `make system-deps`)")

# What a process reports after `preload_allocator(<command>)`: its allocator and MALLOC_CONF.
PROBE = """
import os, sys
from genolm.runtime import loaded_allocator, preload_allocator
preload_allocator(sys.argv[1])
print(loaded_allocator(), os.environ.get("MALLOC_CONF", "-"), os.getpid())
"""


def probe(command, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LD_PRELOAD", "MALLOC_CONF", "GENOLM_ALLOCATOR", "GENOLM_ALLOCATOR_TRIED")}
    clean.update(PYTHONPATH=str(SRC), **env)
    out = subprocess.run([sys.executable, "-c", PROBE, command], capture_output=True, text=True, env=clean,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@needs_jemalloc
def test_training_command_reexecutes_with_jemalloc():
    allocator, conf, _ = probe("train")
    assert (allocator, conf) == ("jemalloc", JEMALLOC_CONF)


@needs_jemalloc
def test_a_malloc_conf_already_set_is_kept():
    assert probe("train", MALLOC_CONF="narenas:1")[:2] == ["jemalloc", "narenas:1"]


def test_other_commands_and_the_opt_out_stay_on_glibc():
    assert probe("prepare-reference")[:2] == ["glibc", "-"]
    assert probe("train", GENOLM_ALLOCATOR="system")[:2] == ["glibc", "-"]


@needs_jemalloc
def test_python_m_genolm_train_reexecutes_before_parsing(tmp_path):
    # The real entry point: `--help` exits after parsing, in the re-executed process (one help text, exit 0).
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", "GENOLM_ALLOCATOR_TRIED")}
    env["PYTHONPATH"] = str(SRC)
    out = subprocess.run([sys.executable, "-m", "genolm", "train", "--help"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.count("usage: genolm train") == 1


NON_TRAINING = [name for name in command_names() if name != "train"]

IMPORTS = """
import sys
from genolm.cli import build_parser
build_parser(sys.argv[1])
print(" ".join(m for m in ("lightning", "pytorch_lightning", "transformers", "torchmetrics") if m in sys.modules))
"""


def test_non_training_commands_start_without_lightning_or_transformers():
    heavy = {}
    for name in NON_TRAINING:
        out = subprocess.run([sys.executable, "-c", IMPORTS, name], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(SRC)})
        assert out.returncode == 0, out.stderr
        if out.stdout.split():
            heavy[name] = out.stdout.split()
    assert heavy == {}


def test_help_lists_every_command_without_importing_torch():
    code = ("import sys\nfrom genolm.cli import build_parser\nbuild_parser().format_help()\n"
            "print(' '.join(m for m in ('torch', 'sklearn', 'matplotlib', 'lightning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []


def test_training_runtime_sets_threads_and_logs_the_allocator(caplog):
    import logging

    import torch

    from genolm.runtime import training_runtime

    threads = torch.get_num_threads()
    try:
        with caplog.at_level(logging.INFO, logger="genolm.runtime"), training_runtime(threads=1):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert any(record.getMessage().startswith("allocator: ") for record in caplog.records)


def test_linear_layers_go_to_onednn_only_where_it_pays():
    """The mode for a float32 CPU job whose typical linear call (rows x median width squared) does ONEDNN_MIN_MACS
    multiply-adds or more; not for fewer rows, nor for a width-64 transformer block (whose feed-forward output layer
    alone reads 256) at the same rows, nor in bfloat16 (autocast's linear is not float32: only the checks)."""
    import torch

    from genolm.models.gemm import ONEDNN_MIN_MACS, linear_routing, onednn_available
    from test_gemm import OpLog

    on_cpu = onednn_available() and not torch.cuda.is_available()
    width = 128
    rows = int(ONEDNN_MIN_MACS) // width**2 + 1
    block = torch.nn.Sequential(*[torch.nn.Linear(width // 2, width // 2) for _ in range(4)],  # q, k, v, output
                                torch.nn.Linear(width // 2, 2 * width), torch.nn.Linear(2 * width, width // 2))
    wide = torch.nn.Linear(width, 4)
    cases = ((wide, "32-true", rows, on_cpu), (wide, "32-true", rows // 2, False), (block, "32-true", rows, False),
             (wide, "bf16-mixed", rows, False))
    for model, precision, batch_rows, expected in cases:
        log = OpLog()
        with linear_routing(model, precision, batch_rows), log:
            model(torch.randn(3, width // 2 if model is block else width))
        assert ("mkldnn._linear_pointwise" in log.ops) == expected, (model, precision, batch_rows)

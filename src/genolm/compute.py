"""Compute a training job needs, estimated from its spec before anything is submitted.

Three things come from one train spec (`$defs/train_spec`) and the config's `compute` block:

    cost        parameters (the model built on the meta device: no memory, no time), tokens processed, training
                FLOPs and peak GPU memory with and without activation checkpointing (`job_cost`)
    plan        GPU-hours at a throughput (measured by benchmarks/gpu_benchmark.py, else the peak x utilization
                assumption of the `compute` block), the job's estimated duration and the walltime-limited
                allocations it needs, and whether it fits its GPU's memory and its time budget (`plan_job`)
    resources   what the scheduler is asked for: GPUs per node, nodes, one task per device (Lightning under SLURM
                checks that the tasks are its devices x nodes), CPUs, memory, runtime, allocations and a resource
                class with its partition (`job_resources`)

The formulas (docs/performance.md, "Full-scale compute", explains them with the numbers they give):

    FLOPs       6 x dense weights x tokens (a multiply-add per weight and token forward, twice that backward);
                dense weights are the Linear, convolution and LSTM weights, counted once per application (ALBERT's
                shared layer as many times as it is applied), embeddings excluded (a lookup, not a product).
                Attention adds 3 x 4 x layers x tokens x attended span x attention width (QK^T and AV forward,
                twice that backward); the span is the context (BERT, ALBERT, decoders), the window (Longformer,
                Longalbert) or three blocks of radius + 1 tokens plus one global token per block (ENBED's LongT5
                encoder). An encoder-decoder's decoder weights and attention see its target tokens: span corruption's
                dropped spans and sentinels, else (reconstruction, generation) the input's length. HyenaDNA adds its FFT long
                convolution, 3 FFTs of 2L points forward (input, filter, inverse), each 5 x 2L x log2(2L) real
                operations per channel, 3 times that for forward and backward; its implicit filter's MLP runs once
                per sequence position per step, not per batch element.
    memory      16 bytes per parameter (fp32 weights, fp32 gradients, AdamW's two fp32 moments: Lightning's
                bf16-mixed keeps fp32 weights) + activations of one micro-batch in bf16: a transformer layer keeps
                34 x width + 5 x heads x span bytes per token (Korthikanti et al. 2022, attention scores stored),
                a HyenaDNA block 48 x d_model + 4 x d_inner (its projections, the fp32 FFT convolution and its
                spectrum, the MLP), the language-model logits 10 x vocabulary bytes per token (bf16 logits, the
                fp32 loss input and its gradient). Activation checkpointing keeps each layer's input (2 x width
                bytes per token) and one layer's activations at a time.
"""

from __future__ import annotations

import functools
import json
import math
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genolm.errors import GenolmInputError

BYTES_PER_PARAMETER = 16  # fp32 weight + fp32 gradient + AdamW exp_avg + exp_avg_sq


@dataclass(frozen=True)
class TrainingJob:
    """One `genolm train` job the workflow runs: `name` as the rule's output directory names it, its train spec,
    and `architecture` ({model, tokenizer} that built the checkpoint a fine-tuning spec loads; None when the spec
    builds its model itself)."""

    study: str
    name: str
    spec: dict
    architecture: dict | None = None


@dataclass(frozen=True)
class JobCost:
    model: str
    parameters: int
    dense_weights: int
    tokens: int
    flops: float
    memory_bytes: int
    memory_bytes_checkpointed: int
    checkpointing: bool  # whether the job trains with activation checkpointing (the memory it is judged by)


@dataclass(frozen=True)
class JobPlan:
    study: str
    job: str
    cost: JobCost
    devices: int
    nodes: int
    throughput_flops: float  # per device
    throughput_source: str
    gpu_hours: float
    duration_min: float  # wall-clock, margin and startup included
    allocations: int
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems


# ---- the model on the meta device -------------------------------------------------------------------------------
def vocabulary(tokenizer_spec: dict) -> Any:
    """What a model config needs from a tokenizer (vocabulary size, special ids). A k-mer BPE vocabulary is learnt
    from the corpus; planning takes it at its target size (the size it reaches on any real corpus)."""
    from genolm import tokenizers

    if "pretrained" in tokenizer_spec:
        return tokenizers.from_pretrained(tokenizer_spec["pretrained"])
    if tokenizer_spec["name"] == "kmer_bpe":
        # genolm.tokenizers.bpe.SPECIAL_TOKENS: [PAD] [UNK] [CLS] [SEP] [MASK] take ids 0 to 4.
        return types.SimpleNamespace(vocab_size=int(tokenizer_spec["vocab_size"]), pad_id=0, unk_id=1, cls_id=2,
                                     sep_id=3, mask_id=4, eos_id=None)
    return tokenizers.build(tokenizer_spec["name"], **{k: v for k, v in tokenizer_spec.items() if k != "name"})


def architecture_of(job: TrainingJob) -> dict:
    """{model, tokenizer} that builds the job's model: the spec's own, or the one its checkpoint was trained with."""
    if "checkpoint" not in job.spec["model"]:
        return {"model": job.spec["model"], "tokenizer": job.spec["tokenizer"]}
    if job.architecture is None:
        raise GenolmInputError(job.name, "loads a checkpoint but names no architecture to plan it by")
    return job.architecture


def runs_on_cpu(model_name: str | None) -> bool:
    """Whether a model is fitted or scored whole rather than trained in batches (its Capabilities.training: the
    scikit-learn k-mer logistic regression, copy-the-parent): it never runs on an accelerator."""
    from genolm.models.registry import MODELS, model_class

    return model_name in MODELS and model_class(model_name).capabilities.training != "gradient"


def build_on_meta(model_spec: dict, tokenizer_spec: dict) -> Any:
    """The model a spec builds, its weights on the meta device (shapes only); None for a CPU baseline."""
    import torch

    from genolm.models import registry

    values = {k: v for k, v in model_spec.items() if k not in ("name", "activation_checkpointing")}
    if runs_on_cpu(model_spec["name"]):
        return None
    with torch.device("meta"):
        return registry.build(model_spec["name"], values, vocabulary(tokenizer_spec))


def _config_value(config: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if hasattr(config, name):
            return getattr(config, name)
    return default


def dense_weights(model: Any) -> tuple[int, int]:
    """(weights applied once per token, HyenaDNA filter weights applied once per position): Linear, convolution
    and LSTM weights; a layer ALBERT shares counts once per application."""
    import torch.nn as nn

    per_token = per_position = 0
    config = model.config
    # ALBERT applies each of its layer groups num_hidden_layers / groups times; Longalbert its one layer every time.
    shared, repeat = None, 1
    if model.name == "albert":
        shared, repeat = "albert_layer_groups", config.num_hidden_layers // max(1, config.num_hidden_groups)
    elif model.name == "longalbert":
        shared, repeat = "encoder.layer.", config.num_hidden_layers
    for module_name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.Conv1d, nn.LSTM)):
            continue
        weights = sum(p.numel() for n, p in module.named_parameters() if "bias" not in n)
        if "filter_fn" in module_name or ".implicit_filter" in module_name:
            per_position += weights
        elif module_name.endswith("_global"):
            continue  # Longformer's projections of the global tokens ([CLS]): one token per sequence
        elif shared and shared in module_name:
            per_token += weights * repeat
        else:
            per_token += weights
    return per_token, per_position


@dataclass(frozen=True)
class Stack:
    """Layers that see the same tokens: `span` tokens attended per token (0: no attention), `width` the attention
    width (heads x head size), `stored` the bytes per token a layer keeps besides its attention scores."""

    layers: int
    tokens: int
    span: int
    width: int
    heads: int
    stored: int


def decoder_tokens(spec: dict, context: int) -> int:
    """Target tokens an encoder-decoder's decoder reads: span corruption's sentinels and dropped spans
    (genolm.objectives.span_corruption), else (reconstruction, generation) as many as the input's."""
    objective = spec.get("objective") or {}
    if objective.get("name") == "span_corruption":
        import inspect

        from genolm.objectives.span_corruption import SpanCorruption

        # The objective's own defaults where the spec leaves a parameter out.
        defaults = {k: p.default for k, p in inspect.signature(SpanCorruption).parameters.items()}
        noise = round(context * objective.get("noise_density", defaults["noise_density"]))
        spans = max(1, round(noise / objective.get("mean_span_length", defaults["mean_span_length"])))
        return noise + spans + 1
    return context


def stacks(model: Any, context: int, targets: int | None = None) -> list[Stack]:
    """The model's layers grouped by the tokens they see (`targets`: an encoder-decoder's decoder tokens)."""
    config = model.config
    name = model.name
    width = int(model.d_model)
    if name in ("bert", "albert"):
        return [Stack(config.num_hidden_layers, context, context, config.hidden_size, config.num_attention_heads,
                      34 * width)]
    if name in ("longformer", "longalbert"):
        windows = config.attention_window if isinstance(config.attention_window, list) else [config.attention_window]
        span = min(context, max(windows) + 1)
        return [Stack(config.num_hidden_layers, context, span, config.hidden_size, config.num_attention_heads,
                      34 * width)]
    if name == "enbed":
        targets = context if targets is None else targets
        attention = config.num_heads * config.d_kv
        # LongT5 cuts the input in blocks of radius + 1 tokens, each attending to itself and both neighbours.
        encoder_span = min(context, 3 * (max(config.local_radius) + 1)) + math.ceil(context / config.global_block_size)
        return [Stack(config.num_encoder_layers, context, encoder_span, attention, config.num_heads, 34 * width),
                Stack(config.num_decoder_layers, targets, targets, attention, config.num_heads, 34 * width),
                # cross-attention: its query, output and norm (the keys and values are the encoder's states)
                Stack(config.num_decoder_layers, targets, context, attention, config.num_heads, 10 * width)]
    if name == "enbed-decoder":
        return [Stack(config.num_layers, context, context, config.num_heads * config.d_kv, config.num_heads,
                      34 * width)]
    if name == "hyenadna":
        return [Stack(config.n_layer, context, 0, 0, 0, 48 * width + 4 * config.d_inner)]
    # CNN / LSTM baselines: a transformer block's worth per layer (their memory is small anyway)
    return [Stack(int(_config_value(config, "num_layers", "n_layer", default=1) or 1), context, 0, 0, 0, 34 * width)]


def fft_flops(channels: int, length: int) -> float:
    """One long convolution of `channels` channels over `length` positions by FFT: 3 FFTs of 2L points."""
    n = 2 * length
    return 3 * 5 * n * math.log2(n) * channels


def decoder_share(model: Any) -> float:
    """Fraction of an encoder-decoder's dense weights in its decoder (and language-model head)."""
    import torch.nn as nn

    decoder = total = 0
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            total += module.weight.numel()
            decoder += module.weight.numel() * (".decoder." in f".{module_name}." or "lm_head" in module_name)
    return decoder / max(1, total)


def training_flops(model: Any, context: int, sequences: int, targets: int | None = None) -> float:
    """FLOPs of training `model` on `sequences` inputs of `context` tokens (`targets`: an encoder-decoder's
    decoder tokens, default as many as the input's; the module docstring states the formula)."""
    if model is None:
        return 0.0
    per_token, per_position = dense_weights(model)
    if model.name == "enbed" and targets is not None:
        share = decoder_share(model)
        flops = 6.0 * per_token * sequences * ((1 - share) * context + share * targets)
    else:
        flops = 6.0 * per_token * sequences * context
    for stack in stacks(model, context, targets):
        flops += 3 * 4 * stack.layers * stack.tokens * stack.span * stack.width * sequences
    if model.name == "hyenadna":
        config = model.config
        orders = config.hyena_order - 1
        flops += 3 * config.n_layer * orders * fft_flops(config.d_model, context) * sequences
        flops += 6.0 * per_position * context  # the implicit filter: once per position, shared by the batch
    return flops


def activation_bytes(model: Any, context: int, micro_batch: int, *, checkpointing: bool, logits: bool,
                     targets: int | None = None) -> int:
    """Activations one micro-batch keeps for the backward pass (bf16; the module docstring states the formula)."""
    if model is None:
        return 0
    width = int(model.d_model)
    total = largest_layer = 0
    for stack in stacks(model, context, targets):
        layer = (stack.stored + 5 * stack.heads * stack.span) * stack.tokens * micro_batch
        largest_layer = max(largest_layer, layer)
        total += stack.layers * (2 * width * stack.tokens * micro_batch if checkpointing else layer)
    if checkpointing:
        total += largest_layer  # the one layer being recomputed
    output_tokens = targets if model.name == "enbed" and targets is not None else context
    head = 10 * int(model.config.vocab_size) * output_tokens * micro_batch if logits else 0
    return int(total + head)


def with_defaults(spec: dict) -> dict:
    """The spec with the schema's defaults filled in (training settings a spec leaves out), as the trainer sees it."""
    return json.loads(_with_defaults(json.dumps(spec, sort_keys=True)))


@functools.lru_cache(maxsize=4096)
def _with_defaults(spec_json: str) -> str:
    from genolm.config import validate_config

    return json.dumps(validate_config(json.loads(spec_json), schema=_train_spec_schema(), source="spec"))


@functools.lru_cache(maxsize=1)
def _train_spec_schema() -> dict:
    from genolm.config import load_schema

    schema = load_schema()
    return {"$defs": schema["$defs"], **schema["$defs"]["train_spec"]}


def job_cost(job: TrainingJob) -> JobCost:
    """Parameters, tokens, FLOPs and peak memory of one training job (computed once per spec and architecture:
    Snakemake asks for each resource of a job separately, and many jobs share one architecture)."""
    architecture_of(job)  # a checkpoint without an architecture fails here, naming the job
    return _cost(json.dumps(job.spec, sort_keys=True), json.dumps(job.architecture, sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _cost(spec_json: str, architecture_json: str) -> JobCost:
    job = TrainingJob("", "job", json.loads(spec_json), json.loads(architecture_json))
    spec = with_defaults(job.spec)
    architecture = architecture_of(job)
    model = build_on_meta(architecture["model"], architecture["tokenizer"])
    training = spec["training"]
    context = int(spec["context_length"])
    world = training_devices(training) * training["num_nodes"]
    from genolm.heads import head as head_of

    task = None if "objective" in spec else head_of(spec["head"])
    # A head may run the model on several pieces of every example (split_concat: both halves).
    pieces = 1 if task is None else task.segments
    # Pretraining and a teacher-forced head compute the language model's logits (and run ENBED's decoder).
    generates = task is None or task.teacher_forced
    micro_batch = training["batch_size"] * pieces
    sequences = training["max_steps"] * micro_batch * training["accumulate_grad_batches"] * world
    if model is None:
        return JobCost(architecture["model"]["name"], 0, 0, sequences * context, 0.0, 0, 0, False)
    parameters = sum(p.numel() for p in model.parameters())
    per_token, _ = dense_weights(model)
    targets = None
    if model.name == "enbed":  # a classification head reads the encoder's states: the decoder does not run
        targets = decoder_tokens(spec, context) if generates else 0
    logits = generates
    states = BYTES_PER_PARAMETER * parameters
    memory = states + activation_bytes(model, context, micro_batch, checkpointing=False, logits=logits, targets=targets)
    checkpointed = states + activation_bytes(model, context, micro_batch, checkpointing=True, logits=logits,
                                             targets=targets)
    checkpointing = bool(spec["model"].get("activation_checkpointing", False))
    return JobCost(model.name, parameters, per_token, sequences * context,
                   training_flops(model, context, sequences, targets), memory, checkpointed, checkpointing)


# ---- throughput, duration, allocations --------------------------------------------------------------------------
def training_devices(training: dict, compute: dict | None = None) -> int:
    """Devices per node: the spec's `devices` (an integer), or for 'auto' / -1 the config's GPUs per job (1 on CPU)."""
    devices = training["devices"]
    if isinstance(devices, int) and devices > 0:
        return devices
    if isinstance(devices, str) and devices.isdigit() and int(devices) > 0:
        return int(devices)
    return max(1, int((compute or {}).get("training_gpus", 0)))


def read_benchmark(path: str | Path | None) -> dict | None:
    """The table benchmarks/gpu_benchmark.py writes, or None where no GPU was measured (no file)."""
    if path is None or not Path(path).is_file():
        return None
    try:
        table = json.loads(Path(path).read_text())
        rows, gpu = table["rows"], table["gpu"]
    except (ValueError, KeyError, TypeError) as error:
        raise GenolmInputError(path, f"not a GPU benchmark table ({error})") from None
    if table.get("smoke"):
        raise GenolmInputError(path, "holds a --smoke run (tiny models on any device), not a GPU measurement")
    return {"gpu": gpu, "rows": rows}


def device_throughput(model: str, compute: dict, benchmark: dict | None) -> tuple[float, str]:
    """FLOP/s one device sustains training `model`: the benchmark's measured median for that family, else the
    assumption peak x utilization of the `compute` block."""
    if benchmark is not None:
        measured = sorted(r["flops_per_s"] for r in benchmark["rows"] if r["model"] == model and r.get("flops_per_s"))
        if measured:
            return measured[len(measured) // 2], f"measured on {benchmark['gpu']}"
    peak = compute["gpu_peak_tflops"] * 1e12
    return peak * compute["gpu_utilization"], (f"assumed {compute['gpu_utilization']:.0%} of "
                                              f"{compute['gpu_peak_tflops']:g} TFLOP/s")


def plan_job(job: TrainingJob, compute: dict, benchmark: dict | None = None) -> JobPlan:
    """A job's cost against its GPU and its time budget; `problems` says what does not fit."""
    cost = job_cost(job)
    training = with_defaults(job.spec)["training"]
    devices, nodes = training_devices(training, compute), training["num_nodes"]
    throughput, source = device_throughput(cost.model, compute, benchmark)
    seconds = cost.flops / (throughput * devices * nodes) if cost.flops else 0.0
    gpu_hours = seconds * devices * nodes / 3600
    duration = seconds / 60 * compute["runtime_margin"] + compute["startup_min"]
    allocation_min = compute["allocation_hours"] * 60
    allocations = max(1, math.ceil(duration / allocation_min))
    problems = []
    gpu_bytes = compute["gpu_memory_gib"] * 2**30
    judged = cost.memory_bytes_checkpointed if cost.checkpointing else cost.memory_bytes
    if cost.parameters and judged > gpu_bytes:
        advice = "" if cost.checkpointing else (
            f" (with activation checkpointing {cost.memory_bytes_checkpointed / 2**30:.1f} GiB)")
        problems.append(f"needs {judged / 2**30:.1f} GiB of GPU memory{advice}, the GPU has "
                        f"{compute['gpu_memory_gib']:g} GiB")
    if allocations > compute["max_allocations"]:
        problems.append(f"needs {allocations} allocations of {compute['allocation_hours']:g} h "
                        f"({duration / 60:.1f} h), the budget is {compute['max_allocations']}")
    return JobPlan(job.study, job.name, cost, devices, nodes, throughput, source, gpu_hours, duration, allocations,
                   problems)


# ---- what the scheduler is asked for ----------------------------------------------------------------------------
# The keys job_resources returns for every job, so that one `resources:` block serves a rule whose jobs are GPU and
# CPU jobs alike (an empty `gres` and `tasks_per_gpu` 0 are no request to the SLURM executor plugin).
RESOURCE_KEYS = ("nodes", "tasks", "tasks_per_gpu", "gres", "cpus_per_task", "mem_mb", "runtime", "slurm_partition",
                 "resource_class", "allocations")


def job_resources(spec: dict, compute: dict, *, architecture: dict | None = None,
                  benchmark: dict | None = None) -> dict:
    """Snakemake `resources` of one `genolm train` job, in the SLURM executor plugin's terms (RESOURCE_KEYS).

    A GPU job: `gres` gpu[:model]:<devices> (per node, so every node gets the spec's devices), `nodes` (the spec's
    num_nodes) and `tasks_per_gpu` 1 (sbatch --ntasks-per-gpu=1: one task per device, devices tasks per node, the
    layout Lightning checks under SLURM). A CPU job (a scikit-learn or copy baseline, or every job where
    `compute.training_gpus` is 0, the demo): no `gres`, `tasks` = devices x nodes. Both: `cpus_per_task`, `mem_mb`
    (per node), `runtime` (minutes: the planned duration capped by one allocation; CPU jobs
    `compute.training_runtime_min`), `allocations` (walltime-limited allocations the job needs), `resource_class`
    (gpu or cpu) and the `slurm_partition` `compute.partitions` maps that class to."""
    training = with_defaults(spec)["training"]
    devices, nodes = training_devices(training, compute), training["num_nodes"]
    model_name = spec["model"].get("name") or (architecture or {}).get("model", {}).get("name")
    resource_class = "gpu" if compute["training_gpus"] > 0 and not runs_on_cpu(model_name) else "cpu"
    resources = {"nodes": nodes, "tasks": devices * nodes, "cpus_per_task": compute["training_cpus"],
                 "mem_mb": compute["training_mem_mb"] * devices, "resource_class": resource_class,
                 "slurm_partition": compute["partitions"][resource_class]}
    if resource_class == "cpu":
        return {**resources, "gres": "", "tasks_per_gpu": 0, "runtime": compute["training_runtime_min"],
                "allocations": 1}
    plan = plan_job(TrainingJob("", "job", spec, architecture), compute, benchmark)
    model = f"{compute['training_gpu_model']}:" if compute["training_gpu_model"] else ""
    return {**resources, "gres": f"gpu:{model}{devices}", "tasks_per_gpu": 1,
            "runtime": math.ceil(min(plan.duration_min, compute["allocation_hours"] * 60)),
            "allocations": plan.allocations}


def plan_rows(plans: list[JobPlan], compute: dict) -> list[dict]:
    """One flat row per job (the TSV and the Markdown table)."""
    rows = []
    for plan in plans:
        cost = plan.cost
        rows.append({
            "study": plan.study, "job": plan.job, "model": cost.model, "parameters": cost.parameters,
            "tokens": cost.tokens, "flops": cost.flops, "devices": plan.devices, "nodes": plan.nodes,
            "memory_gib": round(cost.memory_bytes / 2**30, 2),
            "memory_checkpointed_gib": round(cost.memory_bytes_checkpointed / 2**30, 2),
            "checkpointing": cost.checkpointing, "gpu_memory_gib": compute["gpu_memory_gib"],
            "throughput_tflops": round(plan.throughput_flops / 1e12, 1), "throughput_source": plan.throughput_source,
            "gpu_hours": round(plan.gpu_hours, 2), "duration_h": round(plan.duration_min / 60, 2),
            "allocations": plan.allocations, "fits": plan.fits, "problems": "; ".join(plan.problems),
        })
    return rows


__all__ = ["TrainingJob", "JobCost", "JobPlan", "RESOURCE_KEYS", "job_cost", "plan_job", "job_resources", "plan_rows",
           "read_benchmark", "training_flops", "build_on_meta"]

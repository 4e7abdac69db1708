"""Golden vectors for genolm's HyenaDNA: outputs of the pinned reference implementation on random weights.

    python scripts/make_golden_vectors.py tests/golden/hyenadna      # write the committed cases
    python scripts/make_golden_vectors.py --check CASE_DIR ...       # recompute a case with the reference

The reference is HazyResearch's `standalone_hyenadna.py`, installed and checked by commit and SHA-256 through
benchmarks/reference_hyenadna.py (it needs `einops`, the `bench` extra). genolm's own HyenaDNA is never used
here: the weights are drawn in the reference's module layout, so the tests compare genolm against code it did not
write. Every case directory is laid out like a released checkpoint (`config.json` in the training code's layout,
a Lightning-style `weights.ckpt` with keys prefixed `model.` and a tied `model.lm_head.weight`) plus `io.safetensors`
(input_ids, hidden_states after the final LayerNorm, logits) and `case.json` (shift, sequence length, batch,
tolerance). Outputs are computed in eval mode in float32 on the CPU.

The model is small on purpose (d_model 32, l_max 258: about 0.3 MB for both cases) so that the cases live in the
repository; the architecture is the tiny-1k one otherwise (two layers, hyena order 2, short filter 3, emb_dim 5,
sine frequency 10, residual stream in float32). Two cases: shift 0.0 (what the training code used) at the full
length, and shift 0.05 (the standalone and Hugging Face ports' default) on a shorter input, which reads only the
first positions of the l_max-long positional buffers. Same seed, same files (byte for byte on one torch version).

`--check` loads an existing case directory (its weights, inputs and shift) into the reference and prints the
relative error of the reference's hidden states against the stored ones: run on any case, it shows the case holds
what the reference computes.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import reference_hyenadna  # noqa: E402

SEED = 20240601
BATCH = 2
TOLERANCE_RELATIVE = 1e-5
# Random perturbation added to every trained parameter, so that LayerNorm scales, biases and the sine frequencies
# differ from their initial constants and a loader that skipped any of them would fail the comparison.
PERTURBATION_STD = 0.02

# The released config.json of a small model, in the training code's layout (no `shift` key: the loader supplies it).
CONFIG = {
    "d_model": 32,
    "n_layer": 2,
    "d_inner": 128,
    "vocab_size": 12,
    "pad_vocab_size_multiple": 8,
    "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 16, "local_order": 3, "l_max": 258,
              "modulate": True, "w": 10, "lr": 0.0006, "wd": 0.0, "lr_pos_emb": 0.0},
    "resid_dropout": 0.0,
    "embed_dropout": 0.1,
    "fused_mlp": False,
    "fused_dropout_add_ln": True,
    "residual_in_fp32": True,
    "checkpoint_mixer": False,
    "checkpoint_mlp": False,
}
CASES = {
    "shift0": {"shift": 0.0, "seq_len": 258},
    "shift005": {"shift": 0.05, "seq_len": 180},
}
# HyenaDNA's character ids: [CLS] 0, [SEP] 1, A C G T N 7..11.
CLS_ID, SEP_ID, BASE_IDS = 0, 1, (7, 8, 9, 10, 11)


def reference_model(config: dict, shift: float) -> torch.nn.Module:
    """The reference HyenaDNAModel (backbone, hidden states out) for a released config.json and a shift."""
    module = reference_hyenadna.load_module()
    # The reference adds d_model to the dict it is given; `lr`/`wd` only tag parameters for its optimizer.
    layer = {**copy.deepcopy(config["layer"]), "shift": shift}
    return module.HyenaDNAModel(
        d_model=config["d_model"], n_layer=config["n_layer"], d_inner=config["d_inner"],
        vocab_size=config["vocab_size"], layer=layer, resid_dropout=config["resid_dropout"],
        embed_dropout=config["embed_dropout"], residual_in_fp32=config["residual_in_fp32"],
        pad_vocab_size_multiple=config["pad_vocab_size_multiple"], use_head=False)


def reference_outputs(model: torch.nn.Module, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        hidden = model.eval()(input_ids).float()
        logits = hidden @ model.backbone.embeddings.word_embeddings.weight.T
    return {"input_ids": input_ids, "hidden_states": hidden.contiguous(), "logits": logits.contiguous()}


def released_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The reference's state in the released Lightning layout: `model.` prefix, the head tied to the embeddings."""
    state = {"model." + key: value.detach().clone() for key, value in model.state_dict().items()}
    state["model.lm_head.weight"] = state["model.backbone.embeddings.word_embeddings.weight"].clone()
    return state


def random_inputs(generator: torch.Generator, seq_len: int) -> torch.Tensor:
    bases = torch.tensor(BASE_IDS)[torch.randint(len(BASE_IDS), (BATCH, seq_len - 2), generator=generator)]
    cls = torch.full((BATCH, 1), CLS_ID)
    sep = torch.full((BATCH, 1), SEP_ID)
    return torch.cat([cls, bases, sep], dim=1)


def write_case(directory: Path, config: dict, state: dict, case: dict, io: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    torch.save({"state_dict": state, "epoch": 0, "global_step": 0}, directory / "weights.ckpt")
    save_file(io, str(directory / "io.safetensors"))
    (directory / "case.json").write_text(json.dumps(case, indent=2) + "\n")


def generate(out_dir: Path) -> None:
    torch.manual_seed(SEED)
    for name, spec in CASES.items():
        model = reference_model(CONFIG, spec["shift"])
        with torch.no_grad():
            for parameter in model.parameters():  # parameters() yields the shared Sin frequency once
                parameter.add_(PERTURBATION_STD * torch.randn_like(parameter))
        generator = torch.Generator().manual_seed(SEED + spec["seq_len"])
        io = reference_outputs(model, random_inputs(generator, spec["seq_len"]))
        case = {"shift": spec["shift"], "seq_len": spec["seq_len"], "batch": BATCH,
                "tolerance_relative": TOLERANCE_RELATIVE}
        write_case(out_dir / name, CONFIG, released_state(model), case, io)
        print(f"{out_dir / name}: hidden_states {tuple(io['hidden_states'].shape)}, shift {spec['shift']}")


def check(case_dir: Path) -> float:
    """Relative error of the reference's hidden states against a stored case (its own weights, inputs, shift)."""
    config = json.loads((case_dir / "config.json").read_text())
    case = json.loads((case_dir / "case.json").read_text())
    stored = load_file(str(case_dir / "io.safetensors"))
    released = torch.load(case_dir / "weights.ckpt", weights_only=True)["state_dict"]
    state = {k.removeprefix("model."): v for k, v in released.items() if k != "model.lm_head.weight"}
    model = reference_model(config, case["shift"])
    model.load_state_dict(state, strict=True)
    hidden = reference_outputs(model, stored["input_ids"])["hidden_states"]
    return ((hidden - stored["hidden_states"]).norm() / stored["hidden_states"].norm()).item()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", type=Path, help="where to write the case directories")
    parser.add_argument("--check", nargs="+", type=Path, metavar="CASE_DIR",
                        help="recompute stored cases with the reference and print the relative error")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the same float32 summation order on every machine
    if args.check:
        for case_dir in args.check:
            print(f"{case_dir}: relative error of hidden_states {check(case_dir):.3e}")
    elif args.out_dir:
        generate(args.out_dir)
    else:
        parser.error("give an output directory or --check CASE_DIR")


if __name__ == "__main__":
    main()

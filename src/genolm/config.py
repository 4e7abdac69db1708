"""Workflow configuration: one JSON schema (genolm/schemas/config.schema.yaml, package data), defaults filled from it.

The Snakefile and the `genolm` commands both load the config through here, so a misspelt key or a wrong type
fails before any job starts, with the key's full path in the message.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import importlib
import importlib.resources
import json
import pkgutil
import sys
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema

from genolm.errors import GenolmInputError
from genolm.yaml_files import load_yaml, read_yaml

SCHEMA_RESOURCE = importlib.resources.files("genolm") / "schemas" / "config.schema.yaml"


def load_schema(path: str | Path | None = None) -> dict:
    """The config schema: the copy shipped inside the package unless `path` names another file, with each study's
    own block schema (genolm/studies/<study>/config.schema.yaml) merged in under `studies.<study>`.

    The package's schema is parsed once per process (a workflow load asks for it about twenty times) and each
    caller gets its own copy, free to change."""
    if path is None:
        return copy.deepcopy(_package_schema())
    return _with_study_schemas(read_yaml(path))


@functools.cache
def _package_schema() -> dict:
    return _with_study_schemas(load_yaml(SCHEMA_RESOURCE.read_text(encoding="utf-8"), SCHEMA_RESOURCE))


def _with_study_schemas(schema: dict) -> dict:
    studies = schema["properties"]["studies"].setdefault("properties", {})
    for name, study_schema in study_schemas().items():
        schema["$defs"].update(study_schema.pop("$defs", {}))
        # A study absent from the config is off (study_block), not switched on with every default.
        study_schema.pop("default", None)
        studies[name] = study_schema
    return schema


def study_schemas() -> dict[str, dict]:
    """Each study package's config block schema, by study name."""
    from genolm import studies

    found = {}
    for study in pkgutil.iter_modules(studies.__path__):
        resource = importlib.resources.files(f"genolm.studies.{study.name}") / "config.schema.yaml"
        if resource.is_file():
            found[study.name] = load_yaml(resource.read_text(encoding="utf-8"), resource)
    return found


def _fill_defaults(validator_class):
    """A validator that writes each property's `default` into the instance before validating it.

    Defaults of nested objects are filled too, because the filled-in default is validated (and filled) in turn.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _fill_defaults(jsonschema.Draft202012Validator)


def validate_config(config: dict, schema: dict | None = None, source: str = "config") -> dict:
    """Validate `config` in place, filling defaults; raise GenolmInputError naming the first bad key."""
    schema = schema or load_schema()
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            unknown = sorted(set(error.instance) - set(allowed))
            message = f"unknown key {', '.join(map(repr, unknown))} under {key} {name_hint(unknown[0], allowed)}"
        else:
            message = f"key {key}: {error.message}{_command_line_list_hint(error)}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise GenolmInputError(source, message + more)
    _check_references(config, source)
    _check_dataset_references(config, source)
    check_semantics(config, source)
    check_registry_names(config, source)
    return config


def name_hint(name: str, valid: Iterable[str]) -> str:
    """`(did you mean 'cancer_type'? valid: a, b, c)`: what a message about an unknown name ends with."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.6)
    guess = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    return f"({guess}valid: {', '.join(valid) or 'none'})"


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> str:
    """`no backbone named 'hyena' (did you mean 'hyenadna'? valid: ...)`."""
    return f"no {kind} named {name!r} {name_hint(name, valid)}"


_YAML_TYPES = {"integer": int, "number": (int, float), "boolean": bool}


def _command_line_list_hint(error: jsonschema.ValidationError) -> str:
    """Snakemake's `--config seeds=[1, 2]` reads the items of a list (and the values of a mapping) as strings,
    ['1', '2']; a config file reads them as numbers. Say so where a string inside a list or mapping would have
    had the expected type in a file."""
    if error.validator != "type" or not isinstance(error.instance, str) or len(error.absolute_path) < 2:
        return ""
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    try:
        parsed = load_yaml(error.instance, "value")
    except GenolmInputError:
        return ""
    if not any(isinstance(parsed, _YAML_TYPES[t]) and not (t != "boolean" and isinstance(parsed, bool))
               for t in expected if t in _YAML_TYPES):
        return ""
    top = error.absolute_path[0]
    return (f" (Snakemake's --config reads the values inside a list or mapping as strings: give `{top}` in a YAML "
            f"file instead, after the main one: --configfile config.yaml more.yaml)")


def _chromosome_names(value: Any) -> list[str] | None:
    """The names a `chromosomes` value lists; None for the keywords `all` and `autosomes`."""
    if isinstance(value, str):
        return None if value in ("all", "autosomes") else [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        return value
    return None


def check_semantics(config: dict, source: str = "config",
                    reference_lengths: Callable[[str], dict[str, int] | None] | None = None) -> None:
    """Values that pass the schema but cannot work, found before any job starts, naming the key:

    - `split` fractions must each lie in [0, 1] and sum to 1;
    - chromosome lists (`chromosomes`, `*_chromosomes`) must name chromosomes: GRCh38 names in any convention,
      or, inside a block whose `reference_source` names a reference `reference_lengths(source)` knows (one
      already prepared, and the one this configuration uses: the workflow passes None for a reference prepared
      from another release), that reference's sequences; an empty `chromosomes` list is refused;
    - inside such a block, a `context_length` must fit in the reference's longest chromosome.
    """
    from genolm.sources.chromosomes import canonical_name

    def fail(path: tuple[str, ...], message: str) -> None:
        raise GenolmInputError(source, f"key {'.'.join(path)}: {message}")

    def visit(value: Any, path: tuple[str, ...], reference: str | None, lengths: dict[str, int] | None) -> None:
        if not isinstance(value, dict):
            return
        if reference_lengths is not None and isinstance(value.get("reference_source"), str):
            reference = value["reference_source"]
            lengths = reference_lengths(reference)
        for key, item in value.items():
            here = path + (str(key),)
            if key == "split" and isinstance(item, dict) and item and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in item.values()):
                if any(not 0 <= v <= 1 for v in item.values()) or abs(sum(item.values()) - 1) > 1e-6:
                    fail(here, f"split fractions {item} must each lie in [0, 1] and sum to 1 "
                               f"(they sum to {sum(item.values()):g})")
            names = _chromosome_names(item) if key == "chromosomes" or str(key).endswith("_chromosomes") else None
            if names is not None:
                if not names and key == "chromosomes":
                    fail(here, "the chromosome list is empty: name chromosomes, or use 'all' or 'autosomes'")
                for name in names:
                    canonical = canonical_name(name)
                    known = (name in lengths or canonical in lengths) if lengths is not None else canonical is not None
                    if not known:
                        where = (f"the prepared reference of source {reference!r}" if lengths is not None
                                 else "GRCh38 (chr1..chr22, chrX, chrY, chrM in any naming)")
                        fail(here, f"{name!r} is not a chromosome of {where}")
            if key == "context_length" and lengths and isinstance(item, int) and item > max(lengths.values()):
                fail(here, f"context length {item} is longer than every chromosome of the reference of source "
                           f"{reference!r} (the longest has {max(lengths.values())} bases)")
            visit(item, here, reference, lengths)

    visit(config, (), None, None)


def registry_names(kind: str, model: str | None = None) -> list[str]:
    """The names `kind` ("tokenizer", "model", "objective", "head", "preset" of `model`) can take, from
    genolm.registry_names (plain data, checked against the registries by a test: importing the registries
    themselves would import torch at every validation), and from a registry this process has already imported
    (a training job validating its spec sees what was registered at run time, e.g. a lab's own head or model)."""
    from genolm import registry_names as names

    def live(module: str, attribute: str) -> set:
        loaded = sys.modules.get(module)
        return set(getattr(loaded, attribute, {})) if loaded is not None else set()

    if kind == "tokenizer":
        return sorted(set(names.TOKENIZERS) | live("genolm.tokenizers.registry", "TOKENIZERS"))
    if kind == "objective":
        return sorted(set(names.OBJECTIVES) | live("genolm.objectives", "OBJECTIVES"))
    if kind == "head":
        return sorted(set(names.HEADS) | live("genolm.heads.registry", "HEADS"))
    if kind == "model":
        return sorted(set(names.MODEL_PRESETS) | live("genolm.models.registry", "MODELS"))
    if model in names.MODEL_PRESETS:
        return sorted(names.MODEL_PRESETS[model])
    from genolm.models.registry import model_class  # a model registered at run time: the registry is loaded

    return sorted(model_class(model).presets)


def check_registry_names(config: dict, source: str = "config") -> None:
    """Every `tokenizer`, `model`, `objective` or `head` mapping with a `name` in the config (and a `model` named
    beside a `preset`) names one the registries know, and a model's `preset` is one of that model's presets; an
    unknown name fails naming the key, the close matches and every valid name. Part of validate_config; imports
    nothing heavy (genolm.registry_names)."""
    specs: list[tuple[tuple[str, ...], str, dict, str]] = []  # (path, kind, {name, preset}, key of the name)

    def visit(value: Any, path: tuple[str, ...]) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            here = path + (str(key),)
            if key in ("tokenizer", "model", "objective", "head") and isinstance(item, dict) and isinstance(item.get("name"), str):
                specs.append((here, key, item, "name"))
            elif key == "model" and isinstance(item, str) and isinstance(value, dict) and "preset" in value:
                # A study block naming its model beside the preset (a cancer-type backbone, a virBERT variant).
                specs.append((path, "model", {"name": item, "preset": value["preset"]}, "model"))
            visit(item, here)

    visit(config, ())
    for path, kind, spec, name_key in specs:
        valid = registry_names(kind)
        if spec["name"] not in valid:
            raise GenolmInputError(source, f"key {'.'.join(path)}.{name_key}: "
                                           f"{unknown_name(kind, spec['name'], valid)}")
        if kind == "model" and isinstance(spec.get("preset"), str):
            presets = registry_names("preset", spec["name"])
            if spec["preset"] not in presets:
                raise GenolmInputError(source, f"key {'.'.join(path)}.preset: "
                                               f"{unknown_name(spec['name'] + ' preset', spec['preset'], presets)}")


def study_block(config: dict, name: str) -> dict:
    """A study's validated config block; a study absent from the config is disabled, its keys at their defaults."""
    if name in config.get("studies", {}):
        return config["studies"][name]
    schema = load_schema()
    block_schema = {"$defs": schema["$defs"], **schema["properties"]["studies"]["properties"][name]}
    return validate_config({"enabled": False}, schema=block_schema, source=f"studies.{name}")


def _check_references(config: dict, source: str) -> None:
    """Cross-references the schema cannot express, checked by each enabled study's own `check_config`
    (genolm.studies.<study>.config), e.g. experiments name backbones, studies name sources."""
    for name, block in config.get("studies", {}).items():
        if not block.get("enabled", True):
            continue
        try:
            module = importlib.import_module(f"genolm.studies.{name}.config")
        except ModuleNotFoundError:
            continue
        module.check_config(config, block, source)


def _check_dataset_references(config: dict, source: str) -> None:
    """Every source a dataset names exists, with files named, or a `listing` where a release directory is read."""
    datasets = config.get("datasets", {})
    sources = config.get("sources", {})

    def need(key: str, name: str | None, *, listing: bool = False, files: list[str] = ()) -> None:
        if name is None:
            return
        if name not in sources:
            raise GenolmInputError(source, f"key datasets.{key}: no source named {name!r} under sources")
        if listing and "listing" not in sources[name]:
            raise GenolmInputError(source, f"key datasets.{key}: source {name!r} needs a `listing` (a release directory)")
        for file in files:
            if file not in sources[name].get("files", {}):
                raise GenolmInputError(source, f"key datasets.{key}: source {name!r} has no file {file!r}")

    if "refseq" in datasets:
        spec = datasets["refseq"]
        need("refseq.source", spec["source"], files=[spec["summary_file"]])
        if not spec["accessions"] and not spec["organisms"]:
            raise GenolmInputError(source, "key datasets.refseq: give accessions and/or organisms")
    if "mito" in datasets:
        spec = datasets["mito"]
        need("mito.ncbi_source", spec["ncbi_source"], listing=True)
        need("mito.mitofish_source", spec["mitofish_source"],
             files=spec["mitofish_genomes"] + spec["mitofish_annotations"])
        if spec["ncbi_source"] is None and not spec["mitofish_annotations"]:
            raise GenolmInputError(source, "key datasets.mito: no annotated genomes (ncbi_source or mitofish_annotations)")
    if "viral" in datasets:
        spec = datasets["viral"]
        need("viral.genomes_source", spec["genomes_source"], listing=True)
        need("viral.hosts_source", spec["hosts_source"], files=[spec["hosts_file"]])
    for task, spec in datasets.get("benchmarks", {}).items():
        need(f"benchmarks.{task}.source", spec["source"], files=[spec["file"]])
        need(f"benchmarks.{task}.reference_source", spec["reference_source"])
        if spec["references"] and spec["reference_source"] is not None:
            raise GenolmInputError(source, f"key datasets.benchmarks.{task}: give reference_source or references, "
                                           "not both (a class must come from one named reference)")
        for name, mapped in spec["references"].items():
            need(f"benchmarks.{task}.references.{name}", mapped["source"], files=[mapped["file"]])


def load_config(path: str | Path) -> dict:
    return validate_config(read_yaml(path) or {}, source=str(path))


def check_config_files(paths: list[str | Path]) -> None:
    """Re-read config files that another YAML reader loaded (Snakemake's, for --configfile) with genolm's, which
    refuses a key given twice in one mapping (that reader lets the last one win silently)."""
    for path in paths:
        read_yaml(path)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys: how rule parameters are written, so that the same configuration with its keys in
    another order (as `yaml.safe_dump` writes it) gives the same parameters, and Snakemake reruns nothing."""
    return json.dumps(value, sort_keys=True)


def config_hash(obj: Any) -> str:
    """A short stable hash of a JSON-able object (recorded as provenance in shards and runs)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def archive_limits(overrides: dict | None = None, source: str = "archive limits") -> dict:
    """The `archives` limits (max_total_bytes, max_ratio, max_members): the schema's defaults, with overrides."""
    schema = load_schema()
    sub = {"$defs": schema["$defs"], **schema["properties"]["archives"]}
    return validate_config({k: v for k, v in (overrides or {}).items() if v is not None}, schema=sub, source=source)


def training_settings(overrides: dict, source: str = "--training") -> dict:
    """Training settings with the schema's defaults filled in, validated like the `training` key of config.yaml."""
    schema = load_schema()
    sub = {"$defs": schema["$defs"], **schema["$defs"]["training"]}
    return validate_config(dict(overrides), schema=sub, source=source)

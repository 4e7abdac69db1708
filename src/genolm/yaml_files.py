"""The one YAML reader of genolm: every YAML file genolm reads (config files, study schemas, benchmark metadata,
spec files) goes through `read_yaml` or `load_yaml`.

PyYAML's SafeLoader lets the last of two equal keys in one mapping win silently (`seeds` written twice ran only
the second list). `UniqueKeyLoader` refuses them, naming the key and both line numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from genolm.errors import GenolmInputError


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping with the same key twice."""


# libyaml's parser where PyYAML was built with it (its wheels are): a workflow load parses the schemas and configs
# several times, and the pure-Python parser took most of a second each time.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (merge keys `<<` may still be overridden, as YAML
    intends)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it itself below
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(None, None, f"duplicate key {key!r} (lines {first} and {line})",
                                        key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: object) -> Any:
    """Parse YAML text; invalid YAML or a duplicate key is a GenolmInputError naming `source`."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - UniqueKeyLoader is a SafeLoader
    except DuplicateKeyError as error:
        raise GenolmInputError(source, error.problem) from None
    except yaml.YAMLError as error:
        raise GenolmInputError(source, f"not valid YAML: {' '.join(str(error).split())}") from None


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file with `load_yaml`; an unreadable file is a GenolmInputError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise GenolmInputError(path, f"cannot read: {error.strerror or error}") from None
    return load_yaml(text, path)

"""The head registry: name -> Head subclass (genolm.heads.base)."""

from __future__ import annotations

from typing import Any

from torch import nn

from genolm.heads.base import Head

HEADS: dict[str, type[Head]] = {}


def register(cls: type[Head]) -> type[Head]:
    """Class decorator: make `cls` the head named `cls.name` (a second head of the same name is an error)."""
    if HEADS.get(cls.name, cls) is not cls:
        raise ValueError(f"a head named {cls.name!r} is already registered ({HEADS[cls.name].__module__})")
    HEADS[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(HEADS)


def head(spec: dict | str) -> Head:
    """The head of a head spec (`{name: ..., ...}`; a bare name for a head whose settings do not matter)."""
    spec = {"name": spec} if isinstance(spec, str) else spec
    if spec["name"] not in HEADS:
        from genolm.config import unknown_name

        raise ValueError(unknown_name("head", spec["name"], names()))
    return HEADS[spec["name"]](spec)


def build_head(spec: dict, backbone: Any) -> nn.Module | None:
    """The head spec's layer on `backbone` (checked to fit it)."""
    task = head(spec)
    task.check_backbone(backbone)
    return task.build(backbone)

"""Starter label configs for new projects, each with a sample task to preview it on.

The templates are data, in the gallery/ folder next to this module, one TOML file per kind
of data read in name order (package data, so they ship with an installed labelkit); they
are read once, at import."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources

GALLERY = "gallery"


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    group: str
    description: str
    config: str
    sample: dict = field(default_factory=dict)


FIELDS = ("key", "title", "group", "description", "config", "sample")


def load_gallery(text: str) -> list[Template]:
    """The templates of a gallery file's text, in file order; ValueError naming the
    template when one lacks a field, has one we do not know, or repeats a key."""
    templates: list[Template] = []
    for number, entry in enumerate(tomllib.loads(text).get("template", []), start=1):
        name = entry.get("key", f"number {number}")
        problems = []
        missing = [f for f in FIELDS if f != "sample" and f not in entry]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        unknown = [f for f in entry if f not in FIELDS]
        if unknown:
            problems.append(f"unknown {', '.join(unknown)}")
        if problems:
            raise ValueError(f"gallery template {name}: {'; '.join(problems)}")
        if any(t.key == entry["key"] for t in templates):
            raise ValueError(f"gallery template {name}: the key is used twice")
        templates.append(Template(**{**entry, "config": entry["config"].strip()}))
    return templates


def _gallery_text() -> str:
    folder = resources.files("labelkit.config").joinpath(GALLERY)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


TEMPLATES: list[Template] = load_gallery(_gallery_text())


def template(key: str) -> Template:
    for t in TEMPLATES:
        if t.key == key:
            return t
    raise KeyError(key)

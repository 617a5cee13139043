"""Writing an imported definition folder: YAML documents with their notes as leading comments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .sdk_importer import DefinitionFile, ImportedDefinition
from .sdk_lookup import SdkImportError

__all__ = ("render_file", "write_definition")


def _dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        # multi-line instructions read best as literal blocks; PyYAML falls back to quoting by itself
        # when a block cannot hold the text exactly (trailing spaces, special characters)
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def render_file(file: DefinitionFile, source: str) -> str:
    """The text of one definition file: a header, the notes as comments, the YAML document."""
    import yaml

    lines = [f"# Written by `rtgraph import {source}`."]
    if file.notes:
        lines.append("# NOT carried over (no YAML form in rtgraph, or no module-level name to point at):")
        for note in file.notes:
            lines.append("#   - " + " ".join(note.split()))
    body = yaml.dump(file.document, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return "\n".join(lines) + "\n" + body


def write_definition(definition: ImportedDefinition, out_dir: str | os.PathLike[str], *,
                     force: bool = False) -> list[Path]:
    """Write every file into ``out_dir`` (created if missing); returns the written paths.

    :raises SdkImportError: ``out_dir`` is a file, or a non-empty folder without ``force``.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise SdkImportError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise SdkImportError(f"{folder} is not empty; choose another folder with -o or pass --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file in definition.files:
        path = folder / file.filename
        path.write_text(render_file(file, definition.source), encoding="utf-8")
        written.append(path)
    return written

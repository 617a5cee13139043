"""Writing an imported definition folder: YAML documents with their notes as leading comments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .sdk_importer import DefinitionFile, ImportedDefinition
from .sdk_lookup import SdkImportError

__all__ = ("HEADER", "render_file", "stale_files", "write_definition")

HEADER = "# Written by `rtgraph import "


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

    lines = [f"{HEADER}{source}`."]
    if file.notes:
        lines.append("# NOT carried over (no YAML form in rtgraph, or no module-level name to point at):")
        for note in file.notes:
            lines.append("#   - " + " ".join(note.split()))
    body = yaml.dump(file.document, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return "\n".join(lines) + "\n" + body


def stale_files(definition: ImportedDefinition, folder: Path) -> list[Path]:
    """Definition files an earlier ``rtgraph import`` wrote into ``folder`` that this one does not
    (an agent renamed or gone): left in place they would still load as agents."""
    keep = {f.filename for f in definition.files}
    stale = []
    for path in sorted(folder.glob("*.y*ml")):
        if path.name in keep or path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith(HEADER):
                stale.append(path)
    return stale


def write_definition(definition: ImportedDefinition, out_dir: str | os.PathLike[str], *,
                     force: bool = False) -> list[Path]:
    """Write every file into ``out_dir`` (created if missing); returns the written paths.

    With ``force``, files an earlier import wrote that this one does not are removed (see
    :func:`stale_files`); other files are left alone.

    :raises SdkImportError: ``out_dir`` is a file, or a non-empty folder without ``force``.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise SdkImportError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise SdkImportError(f"{folder} is not empty; choose another folder with -o or pass --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    for path in stale_files(definition, folder):
        path.unlink()
    written = []
    for file in definition.files:
        path = folder / file.filename
        path.write_text(render_file(file, definition.source), encoding="utf-8")
        written.append(path)
    return written

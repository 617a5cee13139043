"""``rtgraph import``: an OpenAI Agents SDK ``RealtimeAgent`` → a definition folder (docs/migration.md).

Importing this package imports neither the SDK nor yaml; both load when an import runs.
"""

from __future__ import annotations

from .sdk_importer import DefinitionFile, ImportedDefinition, import_sdk_agent
from .sdk_lookup import SdkImportError
from .sdk_writer import render_file, stale_files, write_definition

__all__ = ("DefinitionFile", "ImportedDefinition", "SdkImportError", "import_sdk_agent", "render_file",
           "stale_files", "write_definition")

"""Loading definition folders: YAML → JSON Schema → normalise → graph checks → immutable Graph.

This is the only package that imports yaml, jsonschema and jinja2 (lazily, when loading).
"""

from .loader import (
                     DEFINITION_SUFFIXES,
                     folder_version,
                     load,
                     load_dict,
                     load_string,
                     shown_path,
                     validate,
                     validate_dict,
                     validate_string,
)
from .report import ValidationReport, render_issues

__all__ = ("DEFINITION_SUFFIXES", "ValidationReport", "folder_version", "load", "load_dict", "load_string",
           "render_issues", "shown_path", "validate", "validate_dict", "validate_string")

"""The package version, in a module of its own: any module can import it without importing the
public API (``mixedcontent/__init__.py`` imports the pipeline, which would make an import cycle)."""

from __future__ import annotations

__version__ = "0.1.0"

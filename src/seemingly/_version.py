"""The package version, in the bottom layer so any module can record it without importing
the ``seemingly`` package itself (whose public names reach into every layer)."""

__version__ = "0.1.0"

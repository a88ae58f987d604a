"""Convert public e-commerce data sets into contract tables (``seemingly convert``).

Formats are looked up by name in ``FORMATS`` (see ``sorted(FORMATS)``); each conversion
writes Parquet tables, ``conversion.json`` and ``dataset.json`` and returns a
:class:`ConversionReport` that accounts for every input row.
"""

from __future__ import annotations

from seemingly.adapters.conversion import ConversionReport
from seemingly.adapters.registry import FORMATS, convert

__all__ = ["FORMATS", "ConversionReport", "convert"]

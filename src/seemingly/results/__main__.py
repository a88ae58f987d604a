"""Print a JSON schema: ``python -m seemingly.results > docs/results.schema.json`` (the study's
results.json) and ``python -m seemingly.results evaluation > docs/evaluation.schema.json``
(the results.json of ``seemingly evaluate``)."""

from __future__ import annotations

import json
import sys

from seemingly.results import schema
from seemingly.results.evaluate import schema as evaluation_schema

if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "results"
    if which not in ("results", "evaluation"):
        sys.exit(f"unknown schema {which!r}; use 'results' or 'evaluation'")
    out = schema() if which == "results" else evaluation_schema()
    sys.stdout.write(json.dumps(out, indent=2, sort_keys=True) + "\n")

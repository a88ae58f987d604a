"""``python -m seemingly.results > docs/results.schema.json``: print the results.json schema."""

from __future__ import annotations

import json
import sys

from seemingly.results import schema

if __name__ == "__main__":
    sys.stdout.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")

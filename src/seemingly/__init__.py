"""seemingly: why do people buy seemingly irrelevant items in product search?

The public API is the handful of names below; everything else is reachable through the
packages (``seemingly.explain``, ``seemingly.ranking``, ...) but is not promised to stay put.

Examples
--------
>>> import seemingly as s
>>> r = s.run_study(None, "out/demo", n_offers=50_000, seed=7)  # doctest: +SKIP
>>> r.results.overview.purchase_level.irrelevant.value  # doctest: +SKIP
>>> r.results.hypotheses["price"]["purchase"].supported  # doctest: +SKIP

Names are imported on first use, so ``import seemingly`` stays cheap (no DuckDB, LightGBM or
numba until a name that needs them is asked for).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seemingly._version import __version__

# public name -> module that defines it (the one lookup table for __getattr__ and __all__)
_EXPORTS = {
    "AnalysisSettings": "seemingly.config",
    "Results": "seemingly.results",
    "open_store": "seemingly.store",
    "open_data": "seemingly.store",
    "ingest": "seemingly.store",
    "store_from_frames": "seemingly.store",
    "simulate": "seemingly.simulate",
    "analyze": "seemingly.study.analysis",
    "run_study": "seemingly.study.run",
    "Ranker": "seemingly.ranking.models",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on demand
    from seemingly.config import AnalysisSettings as AnalysisSettings
    from seemingly.ranking.models import Ranker as Ranker
    from seemingly.results import Results as Results
    from seemingly.simulate import simulate as simulate
    from seemingly.store import ingest as ingest
    from seemingly.store import open_data as open_data
    from seemingly.store import open_store as open_store
    from seemingly.store import store_from_frames as store_from_frames
    from seemingly.study.analysis import analyze as analyze
    from seemingly.study.run import run_study as run_study


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seemingly' has no attribute {name!r}; the public names "
                             f"are {', '.join(sorted(_EXPORTS))}")
    mod = importlib.import_module(module)
    if name == "simulate":
        # importing the package binds seemingly.simulate to it, so the name is the package,
        # callable as the function (see seemingly/simulate/__init__.py), before and after
        return mod
    value = getattr(mod, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

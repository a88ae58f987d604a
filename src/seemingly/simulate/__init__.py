"""Simulated voice-shopping marketplaces with planted effects (the default data).

>>> from seemingly.simulate import simulate, load_world, WORLDS
>>> import seemingly
>>> seemingly.simulate("out/world", n_offers=50_000, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import types
from typing import Any

from seemingly.simulate.config import WORLDS, WorldConfig, load_world
from seemingly.simulate.core import SimulationResult, simulate

__all__ = ["simulate", "load_world", "WORLDS", "WorldConfig", "SimulationResult"]


class _CallablePackage(types.ModuleType):
    """``seemingly.simulate`` is both this package and the public function: Python binds a
    subpackage's name on its parent when it is imported, so ``seemingly.simulate`` would
    otherwise stop being the function as soon as anything imported the package."""

    def __call__(self, *args: Any, **kwargs: Any) -> SimulationResult:
        return simulate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

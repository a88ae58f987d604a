"""Simulated voice-shopping marketplaces with planted effects (the default data).

>>> from seemingly.simulate import simulate, load_world, WORLDS
"""

from __future__ import annotations

from seemingly.simulate.config import WORLDS, WorldConfig, load_world
from seemingly.simulate.core import SimulationResult, simulate

__all__ = ["simulate", "load_world", "WORLDS", "WorldConfig", "SimulationResult"]

"""Randomised serving orders with their true propensities (``seemingly serve --explore``).

An off-policy estimate of another fusion weight needs every logged offer's probability under
the policy that served it. The propensity logged at position j is the simulator's
(``seemingly.simulate.behaviour``): the probability of choosing that product for position j
given the products already placed above it. The probability of a whole served list is the
product of its rows' propensities.

Two policies over the ranker's fused scores ``f``:

* Plackett-Luce with temperature ``T``: position j takes a remaining product i with
  probability ``exp(f_i / T) / sum over remaining exp(f_r / T)``. Small ``T`` is nearly the
  deterministic order, large ``T`` nearly uniform.
* epsilon-greedy: position j takes the best remaining product with probability ``1 - eps``,
  otherwise one of the ``m`` remaining products uniformly; so the best remaining one has
  propensity ``1 - eps + eps / m`` and any other ``eps / m``.

Only the served top k are placed, but "remaining" always counts every candidate not yet
placed, served or not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["ExplorePolicy"]


@dataclass
class ExplorePolicy:
    """A seeded randomised order; thread-safe (the service ranks in up to two threads)."""

    kind: Literal["plackett-luce", "epsilon-greedy"]
    temperature: float = 1.0
    epsilon: float = 0.1
    seed: int | list[int] = 0
    _rng: np.random.Generator = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.kind == "plackett-luce" and not (np.isfinite(self.temperature)
                                                  and self.temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0; got {self.temperature}")
        if self.kind == "epsilon-greedy" and not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1]; got {self.epsilon}")
        self._rng = np.random.default_rng(self.seed)

    @property
    def label(self) -> str:
        """How the log's ``policy`` column names this policy."""
        if self.kind == "plackett-luce":
            return f"plackett-luce:T={self.temperature:g}"
        return f"epsilon-greedy:eps={self.epsilon:g}"

    def order(self, fused: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices into ``fused`` in served order, their propensities), top ``k`` only."""
        n = len(fused)
        k = n if k is None else min(k, n)
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        with self._lock:  # numpy's Generator is not safe to share between threads
            if self.kind == "plackett-luce":
                gumbel = self._rng.gumbel(size=n)
            else:
                coins = self._rng.random(k)
                picks = self._rng.random(k)
        if self.kind == "plackett-luce":
            return plackett_luce(fused, self.temperature, gumbel, k)
        return epsilon_greedy(fused, self.epsilon, coins, picks, k)


def plackett_luce(fused: np.ndarray, temperature: float, gumbel: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sample a Plackett-Luce order via Gumbel-perturbed scores (the top-k of
    ``f / T + Gumbel`` is a draw without replacement with weights ``exp(f / T)``)."""
    s = np.asarray(fused, np.float64) / temperature
    order = np.argsort(-(s + gumbel), kind="stable")
    ordered = s[order]
    # log of the weight still unplaced before position j: a reversed running log-sum-exp
    remaining = np.logaddexp.accumulate(ordered[::-1])[::-1]
    prop = np.exp(ordered - remaining)
    # the last product is placed with certainty; rounding must not take it above 1
    return order[:k], np.minimum(prop[:k], 1.0)


def epsilon_greedy(fused: np.ndarray, epsilon: float, coins: np.ndarray, picks: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray]:
    """Epsilon-greedy order: ``coins[j] < epsilon`` explores, ``picks[j]`` chooses uniformly."""
    n = len(fused)
    greedy = np.argsort(-np.asarray(fused, np.float64), kind="stable")  # the deterministic order
    left = list(greedy.tolist())  # remaining products, best first
    order = np.empty(k, np.int64)
    prop = np.empty(k)
    for j in range(k):
        m = n - j
        best = left[0]
        i = left.pop(min(int(picks[j] * m), m - 1)) if coins[j] < epsilon else left.pop(0)
        order[j] = i
        prop[j] = (1.0 - epsilon) * (i == best) + epsilon / m
    return order, prop

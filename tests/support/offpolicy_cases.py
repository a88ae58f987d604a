"""Seeded logged-bandit arrays shared by the off-policy test and its obp reference script.

A round's context is its query; the logging policy draws one of ``n_actions`` products per
query from its own probabilities, the reward is a Bernoulli draw of the product's true
rate, and the target policy is deterministic (``kind="deterministic"``: one product per
query) or stochastic (``"stochastic"``: a softmax over the products). Arrays are in Open
Bandit Pipeline's shapes: ``action_dist`` and ``estimated_rewards`` are (rounds, actions, 1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CASES", "bandit_case"]

CASES = {"deterministic": 11, "stochastic": 12}


def bandit_case(kind: str, n_rounds: int = 500, n_queries: int = 40,
                n_actions: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(CASES[kind])
    logging = rng.gamma(1.0, 1.0, size=(n_queries, n_actions)) + 0.05
    logging /= logging.sum(axis=1, keepdims=True)
    rate = rng.uniform(0.02, 0.4, size=(n_queries, n_actions))
    # an outcome model that is right on average but noisy per product
    model = np.clip(rate + rng.normal(0.0, 0.05, size=rate.shape), 0.0, 1.0)
    if kind == "deterministic":
        target = np.eye(n_actions)[rng.integers(0, n_actions, n_queries)]
    else:
        z = np.exp(2.0 * rng.normal(size=(n_queries, n_actions)))
        target = z / z.sum(axis=1, keepdims=True)
    query = rng.integers(0, n_queries, n_rounds)
    u = rng.random(n_rounds)
    action = (u[:, None] > np.cumsum(logging[query], axis=1)).sum(axis=1)
    action = np.minimum(action, n_actions - 1)
    reward = (rng.random(n_rounds) < rate[query, action]).astype(float)
    return {"query": query, "action": action, "reward": reward,
            "pscore": logging[query, action], "action_dist": target[query][:, :, None],
            "estimated_rewards": model[query][:, :, None], "target": target, "model": model}

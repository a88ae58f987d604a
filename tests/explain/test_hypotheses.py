"""Hypothesis tests: the statistics against statsmodels, and the planted worlds end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from seemingly.explain import hypotheses
from seemingly.explain.hypotheses.core import HYPOTHESES, analyze_patterns
from seemingly.explain.hypotheses.models import fit_multivariable, fit_tolerance
from seemingly.explain.hypotheses.stats import (
    assign_bins,
    bin_edges,
    fit_clustered_logit,
    holm,
)

# ---------------------------------------------------------------- statistics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holm_matches_statsmodels(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.2, 14)
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])


def test_holm_skips_missing() -> None:
    out = holm([0.01, None, 0.04, float("nan")])
    assert np.isnan(out[1]) and np.isnan(out[3])
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.04)


def _clustered_offers(seed: int, n: int = 4000, g: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, g, n)
    x = rng.integers(-3, 4, n) / 2  # coarse, so offers share patterns
    z = rng.integers(0, 2, n)
    eta = -1.0 + 0.5 * x - 0.7 * z + rng.normal(0, 0.8, g)[group]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"g": group, "x": x, "z": z, "y": y})


def test_clustered_logit_matches_statsmodels_on_offers() -> None:
    d = _clustered_offers(3)
    exog = pd.DataFrame({"const": 1.0, "x": d.x, "z": d.z.astype(float)})
    ours = fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), d.g.to_numpy())
    ref = sm.Logit(d.y, exog).fit(disp=0, cov_type="cluster",
                                   cov_kwds={"groups": d.g, "use_correction": False})
    g = d.g.nunique()
    assert np.allclose(ours.params, ref.params, atol=1e-8)
    # ours applies the G/(G-1) small-sample factor (as Stata's logit does)
    assert np.allclose(ours.cov, ref.cov_params().to_numpy() * g / (g - 1), rtol=1e-6)


def test_patterns_give_the_same_fit_and_clustered_errors_as_offers() -> None:
    d = _clustered_offers(4)
    pat = d.groupby(["g", "x", "z"], as_index=False).agg(n=("y", "size"), s=("y", "sum"))
    assert len(pat) < len(d) / 2
    full = fit_clustered_logit(pd.DataFrame({"const": 1.0, "x": d.x, "z": d.z * 1.0}),
                               d.y.to_numpy(), np.ones(len(d)), d.g.to_numpy())
    agg = fit_clustered_logit(pd.DataFrame({"const": 1.0, "x": pat.x, "z": pat.z * 1.0}),
                              pat.s.to_numpy(), pat.n.to_numpy(), pat.g.to_numpy())
    assert np.allclose(full.params, agg.params, atol=1e-8)
    assert np.allclose(full.cov, agg.cov, rtol=1e-6)
    # the GLM on patterns (statsmodels, counts as endog) agrees on the estimates too
    glm = sm.GLM(np.column_stack([pat.s, pat.n - pat.s]),
                 pd.DataFrame({"const": 1.0, "x": pat.x, "z": pat.z * 1.0}),
                 family=sm.families.Binomial()).fit()
    assert np.allclose(glm.params, agg.params, atol=1e-7)


def test_term_interval_and_wald() -> None:
    d = _clustered_offers(5)
    fit = fit_clustered_logit(pd.DataFrame({"const": 1.0, "x": d.x}), d.y.to_numpy(),
                              np.ones(len(d)), d.g.to_numpy())
    t = fit.term("x")
    assert t["ci_low"] < t["estimate"] < t["ci_high"]
    stat, df, p = fit.wald(np.array([[0.0, 1.0]]))
    assert df == 1 and stat == pytest.approx((t["estimate"] / t["se"]) ** 2)
    with pytest.raises(KeyError, match="has no term"):
        fit.term("nope")


def test_bins_by_hand() -> None:
    v = np.array([0, 0, 0, 0, 0, 1, 2, 3, 4, 5], dtype=float)
    edges = bin_edges(v, np.ones_like(v), 4)
    assert edges[0] == edges[1] == 0  # half the offers at 0: a bin of its own
    idx = assign_bins(v, edges)
    assert (idx[:5] == 0).all() and (idx[5:] > 0).all()
    assert np.all(np.diff(idx) >= 0)
    even = bin_edges(np.arange(100.0), np.ones(100), 4)
    assert np.bincount(assign_bins(np.arange(100.0), even)).tolist() == [25, 25, 25, 25]


# ---------------------------------------------------------------- synthetic patterns

CATS = {"toys": 0.6, "digital": 0.6, "beauty": -0.6, "grocery": -0.6, "home": 0.0, "tools": 0.0}


def synthetic_patterns(seed: int, n: int = 80_000, effects: bool = True) -> pd.DataFrame:
    """Offers drawn with known log-odds effects, aggregated to patterns like the engine does."""
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 300, n)
    qcat = rng.choice(list(CATS), 300)[q]
    qlen = rng.choice(["short", "medium", "long"], 300, p=[0.3, 0.5, 0.2])[q]
    rel = rng.random(n) < 0.55
    pop = np.round(rng.uniform(0, 8, n), 1)
    price = np.round(rng.normal(0, 1, n), 1)
    sem = np.round(rng.uniform(0, 1, n), 1)
    cop = np.round(rng.exponential(0.5, n), 1)
    hist = (rng.random(n) < 0.1).astype(int)
    brand = np.maximum(hist, (rng.random(n) < 0.1).astype(int))
    common = (0.25 * pop - 0.4 * price + 1.5 * sem + 0.5 * cop + 1.0 * hist
              + 0.4 * (qlen == "short") + 0.4 * (qlen == "long") + pd.Series(qcat).map(CATS))
    eta = np.where(rel, -1.5 + 0.4 * common, -3.5 + common) if effects else np.where(rel, -1.5, -3)
    buy = rng.random(n) < 1 / (1 + np.exp(-eta))
    eng = buy | (rng.random(n) < 0.1)
    d = pd.DataFrame({"query": q.astype(str), "relevant": rel, "category": qcat,
                      "length_bin": qlen, "popularity": np.round(pop * 12.5, 1),
                      "popularity_log2": pop, "price_ratio": price, "semantic": sem,
                      "copurchase": cop, "history": hist, "history_brand": brand,
                      "purchases": buy.astype(int), "engagements": eng.astype(int)})
    keys = [c for c in d.columns if c not in ("purchases", "engagements")]
    return d.assign(offers=1).groupby(keys, as_index=False)[
        ["offers", "purchases", "engagements"]].sum()


def test_synthetic_effects_are_recovered_and_block_has_the_contract_shape() -> None:
    res = analyze_patterns(synthetic_patterns(11), n_offers=90_000)
    block = res.to_dict()
    assert list(block) == list(HYPOTHESES)
    json.dumps(block, allow_nan=False)
    for name, by in block.items():
        assert set(by) == {"purchase", "engagement"}
        e = by["purchase"]
        for key in ("estimate", "ci", "p_value", "p_adjusted", "supported", "direction",
                    "unit", "curve", "curve_relevant", "excluded"):
            assert key in e, (name, key)
        assert e["supported"], (name, e["estimate"], e["p_adjusted"])
        assert {"bin", "offers", "rate", "ci"} <= set(e["curve"][0])
    assert block["price"]["purchase"]["direction"] == "-"
    assert block["price"]["purchase"]["estimate"] == pytest.approx(-0.4, abs=0.12)
    assert block["personal_history"]["purchase"]["estimate"] == pytest.approx(1.0, abs=0.25)
    ql = block["query_length"]["purchase"]
    assert ql["short"]["estimate"] > 0 and ql["long"]["estimate"] > 0
    assert ql["p_value"] == max(ql["short"]["p_value"], ql["long"]["p_value"])
    cats = block["category"]["purchase"]["categories"]
    top = {c["category"] for c in cats[:2]}
    assert top == {"toys", "digital"}, cats
    assert block["category"]["purchase"]["contrast"]["estimate"] > 0
    assert block["price"]["purchase"]["excluded"]["offers"] == 90_000
    # Holm over the 14 multivariable p-values
    keys = [(h, o) for h in HYPOTHESES for o in ("purchase", "engagement")]
    p = [block[h][o]["p_value"] for h, o in keys]
    assert np.allclose([block[h][o]["p_adjusted"] for h, o in keys],
                       multipletests(p, method="holm")[1])


def _curves_by_group_by(patterns: pd.DataFrame, confidence: float = 0.95) -> dict:
    """The curves as the block computed them before label codes: a group-by of label text."""
    from seemingly.config import HypothesisSettings
    from seemingly.explain.hypotheses.core import _CONTINUOUS
    from seemingly.explain.hypotheses.stats import binned_curve, edge_labels

    irr = patterns[~patterns["relevant"]]
    specs = {}
    for hyp in ("popularity", "price", "semantic_relation", "copurchase_relation"):
        col = _CONTINUOUS[hyp][1]
        have = irr[irr[col].notna()]
        edges = bin_edges(have[col].to_numpy(), have["offers"].to_numpy(),
                          HypothesisSettings().curve_bins)
        names = edge_labels(edges)
        lab = pd.Series(pd.NA, index=patterns.index, dtype="object")
        ok = patterns[col].notna()
        lab[ok] = np.asarray(names, dtype=object)[
            assign_bins(patterns.loc[ok, col].to_numpy(), edges)]
        specs[hyp] = (lab, names)
    specs["personal_history"] = (patterns["history"].map({0: "no", 1: "yes"}), ["no", "yes"])
    specs["brand"] = (patterns["history_brand"].map({0: "no", 1: "yes"}), ["no", "yes"])
    specs["query_length"] = (patterns["length_bin"], ["short", "medium", "long"])
    cats = sorted(patterns["category"].astype(str).unique())
    specs["category"] = (patterns["category"].astype(str), cats)
    out: dict = {}
    for hyp, (lab, order) in specs.items():
        out[hyp] = {}
        for outcome, col in (("purchase", "purchases"), ("engagement", "engagements")):
            is_rel = patterns["relevant"]
            out[hyp][outcome] = {
                key: binned_curve(lab[m], patterns.loc[m, "offers"].to_numpy(),
                                  patterns.loc[m, col].to_numpy(), order, confidence)
                for key, mask in (("irrelevant", ~is_rel), ("relevant", is_rel))
                for m in [mask & lab.notna()]
            }
    return out


@pytest.mark.parametrize("seed", [5, 6])
def test_curves_by_codes_equal_the_group_by_of_labels(seed: int) -> None:
    from seemingly.config import HypothesisSettings
    from seemingly.explain.hypotheses.core import _curves

    patterns = synthetic_patterns(seed, n=20_000)
    # a few missing factors, and a factor whose bins share a label (rounded edges)
    patterns.loc[patterns.index[::7], "semantic"] = np.nan
    patterns["copurchase"] = np.where(patterns["copurchase"] > 0.3, 0.3001, 0.3)
    assert _curves(patterns, HypothesisSettings(), 0.95) == _curves_by_group_by(patterns)


def test_cluster_score_sums_equal_a_scatter_add() -> None:
    """The clustered covariance from bincount sums is the one np.add.at gave, bit for bit."""
    d = _clustered_offers(4)
    exog = pd.DataFrame({"const": 1.0, "x": d.x, "z": d.z.astype(float)})
    fit = fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), d.g.to_numpy())
    x = exog.to_numpy()
    p = 1 / (1 + np.exp(-np.clip(x @ fit.params, -700, 700)))
    bread = np.linalg.pinv(x.T @ (x * (p * (1 - p))[:, None]))
    codes, uniq = pd.factorize(d.g.to_numpy())
    scores = np.zeros((len(uniq), x.shape[1]))
    np.add.at(scores, codes, x * (d.y.to_numpy() - p)[:, None])
    g = len(uniq)
    assert np.array_equal(fit.cov, g / (g - 1) * bread @ (scores.T @ scores) @ bread)


def test_no_effects_supports_nothing() -> None:
    res = analyze_patterns(synthetic_patterns(12, effects=False))
    assert not any(s for by in res.supported().values() for s in by.values())


def test_multivariable_matches_statsmodels_glm_on_the_same_frame() -> None:
    pat = synthetic_patterns(13, n=30_000)
    irr = pat[~pat.relevant].reset_index(drop=True)
    fit, info = fit_multivariable(irr, "purchases")
    assert fit is not None
    cats = sorted(c for c in irr.category.unique() if c != info["category_reference"])
    exog = pd.DataFrame({
        "const": 1.0, "popularity": irr.popularity_log2, "price_ratio": irr.price_ratio,
        "semantic": irr.semantic / 0.1, "copurchase": irr.copurchase, "history": irr.history * 1.0,
        "short": (irr.length_bin == "short") * 1.0, "long": (irr.length_bin == "long") * 1.0,
        **{f"category[{c}]": (irr.category == c) * 1.0 for c in cats},
    })
    ref = sm.GLM(np.column_stack([irr.purchases, irr.offers - irr.purchases]), exog,
                 family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(irr["query"])[0],
                                      "use_correction": False})
    g = irr["query"].nunique()
    assert list(fit.names) == list(exog.columns)
    assert np.allclose(fit.params, ref.params, atol=1e-6)
    assert np.allclose(np.sqrt(np.diag(fit.cov)), ref.bse * np.sqrt(g / (g - 1)), rtol=1e-5)


def test_tolerance_closed_form_is_the_newton_fit() -> None:
    pat = synthetic_patterns(14, n=30_000)
    tol = fit_tolerance(pat, "purchases")
    assert tol is not None
    # the same saturated model fitted by Newton's method, design built here independently
    agg = pat.groupby(["query", "category", "relevant"], as_index=False)[
        ["offers", "purchases"]].sum()
    cats = list(tol.categories)
    exog = pd.DataFrame({
        **{f"base[{c}]": (agg.category == c) * 1.0 for c in cats},
        **{f"tol[{c}]": ((agg.category == c) & ~agg.relevant) * 1.0 for c in cats},
    })
    ref = fit_clustered_logit(exog, agg.purchases.to_numpy(), agg.offers.to_numpy(),
                              agg["query"].to_numpy())
    k = len(cats)
    assert np.allclose(tol.estimates, ref.params[k:], atol=1e-8)
    assert np.allclose(tol.cov, ref.cov[k:, k:], rtol=1e-6, atol=1e-12)
    # and by hand for one category: log odds ratio of the two cells' rates
    cell = pat[pat.category == cats[0]].groupby("relevant")[["purchases", "offers"]].sum()
    r = cell.purchases / cell.offers
    assert tol.estimates[0] == pytest.approx(
        np.log(r[False] / (1 - r[False])) - np.log(r[True] / (1 - r[True])))


def test_categorical_clusters_and_given_params() -> None:
    d = _clustered_offers(6)
    exog = pd.DataFrame({"const": 1.0, "x": d.x})
    groups = d.g.map(lambda g: f"q{g}")
    plain = fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), groups.to_numpy())
    cat = fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), groups.astype("category"))
    assert np.allclose(plain.cov, cat.cov) and cat.n_clusters == plain.n_clusters
    given = fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), groups,
                                params=plain.params)
    assert np.allclose(given.cov, plain.cov)
    with pytest.raises(ValueError, match="params has shape"):
        fit_clustered_logit(exog, d.y.to_numpy(), np.ones(len(d)), groups, params=np.zeros(3))


def test_dersimonian_laird_by_hand_and_vectorised() -> None:
    from seemingly.explain.hypotheses.models import _dersimonian_laird

    est, var = np.array([0.0, 1.0, 2.0]), np.array([0.25, 0.25, 0.25])
    # w = 4 each: mean 1, Q = 4 * (1 + 0 + 1) = 8, C = 12 - 48 / 12 = 8 -> tau^2 = (8 - 2) / 8
    assert float(_dersimonian_laird(est, var)) == pytest.approx(np.sqrt(6 / 8))
    rows = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    assert np.allclose(_dersimonian_laird(rows, var), [np.sqrt(6 / 8), 0.0])


# ---------------------------------------------------------------- simulated worlds


def _world_store(tmp: Path, world: str, n: int, seed: int, clean_labels: bool = False,
                 **overrides: dict) -> object:
    from seemingly.simulate import load_world, simulate
    from seemingly.store import ingest, open_store

    w = load_world(world)
    update = {k: getattr(w, k).model_copy(update=v) for k, v in overrides.items()}
    if clean_labels:
        # The shipped worlds flip some labels; a truly relevant product judged irrelevant sells
        # at the relevant rate and is close to the relevant ones in every factor, so with noisy
        # labels even the null world "supports" semantic relation and popularity.
        update["annotation"] = w.annotation.model_copy(update={"flip": 0.0, "hard_flip": 0.0})
    w = w.model_copy(update=update)
    simulate(tmp / "data", w, n_offers=n, seed=seed)
    ingest(tmp / "data", tmp / "store.duckdb")
    return open_store(tmp / "store.duckdb")


@pytest.mark.slow
def test_default_world_supports_every_hypothesis(tmp_path: Path) -> None:
    store = _world_store(tmp_path, "default", 200_000, 7)
    res = hypotheses.fit_hypotheses(store)
    truth = json.loads((tmp_path / "data" / "truth.json").read_text())
    block = res.to_dict()
    for name, by in block.items():
        for outcome, e in by.items():
            assert e["supported"], (name, outcome, e["estimate"], e["p_adjusted"])
    assert block["price"]["purchase"]["direction"] == truth["expected"]["price"]
    flexible = set(truth["expected"]["category"]["flexible"])
    strict = set(truth["expected"]["category"]["strict"])
    ranked = [c["category"] for c in block["category"]["purchase"]["categories"]
              if "log_odds_ratio" in c]
    assert set(ranked[: len(flexible)]) & flexible and not set(ranked[: len(flexible)]) & strict
    assert block["category"]["purchase"]["contrast"]["estimate"] > 0


@pytest.mark.slow
def test_null_worlds_rarely_support_anything(tmp_path: Path) -> None:
    hits = []
    for seed in range(20):
        store = _world_store(tmp_path / str(seed), "null", 20_000, seed)
        res = hypotheses.fit_hypotheses(store)
        found = [f"{h}/{o}" for h, by in res.supported().items() for o, s in by.items() if s]
        if found:
            hits.append((seed, found))
    assert len(hits) <= 3, hits


@pytest.mark.slow
def test_confounded_world_adjusts_price_away(tmp_path: Path) -> None:
    # The shipped confounded world makes popularity measurable (see confounded.toml).
    store = _world_store(tmp_path, "confounded", 60_000, 3)
    block = hypotheses.fit_hypotheses(store).to_dict()
    for outcome in ("purchase", "engagement"):
        price = block["price"][outcome]
        assert not price["supported"], price
        assert price["univariate"]["direction"] == "-" and price["univariate"]["p_value"] < 1e-6
        rates = [b["rate"] for b in price["curve"]]
        assert rates[0] > rates[-1]  # the spurious slope: cheap sells more
        assert block["popularity"][outcome]["supported"]


def test_analyze_writes_the_hypotheses_block(tmp_path: Path) -> None:
    from seemingly.study.analysis import analyze

    store = _world_store(tmp_path, "default", 20_000, 1)
    results = analyze(store)
    assert results.hypotheses is not None and list(results.hypotheses) == list(HYPOTHESES)
    path = results.write(tmp_path / "out")
    block = json.loads(path.read_text())["hypotheses"]
    assert block["price"]["purchase"]["excluded"]["offers"] == 20_000
    assert {"short", "long"} <= set(block["query_length"]["engagement"])
    assert "brand" in block["personal_history"]["purchase"]

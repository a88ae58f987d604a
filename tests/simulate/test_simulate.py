"""Tests of the simulated marketplace: contract, determinism, truth, planted effects.

Planted effects are checked on the simulator's own latent factors (written to a separate
``latent_dir``) with binned rates and with a statsmodels logit as the reference fit.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.contract import normalize_query
from seemingly.errors import SeedRequiredError
from seemingly.simulate import WORLDS, WorldConfig, load_world, simulate
from seemingly.simulate.catalog import build_synthetic_catalog
from seemingly.simulate.queries import KINDS, build_pools
from seemingly.simulate.sampling import KeySet, RowSampler, Sampler
from seemingly.simulate.vocab import PREFIXES, SUFFIXES
from seemingly.simulate.write import PartWriter, ids

N_SMALL = 40_000


def _run(
    tmp: Path, world: str | WorldConfig, n: int = N_SMALL, seed: int = 3
) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    out, lat = tmp / "data", tmp / "latent"
    simulate(out, world, n_offers=n, seed=seed, latent_dir=lat)
    offers = pd.read_parquet(out / "offers")
    latent = pd.read_parquet(lat)
    return out, offers, offers.merge(latent, on="offer_id", validate="1:1")


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("default"), "default")


@pytest.fixture(scope="module")
def null_world(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("null"), "null")


def test_seed_is_required(tmp_path: Path) -> None:
    with pytest.raises(SeedRequiredError, match="seed"):
        simulate(tmp_path, "default", n_offers=100, seed=None)


def _tables(out: Path) -> dict[str, pa.Table]:
    return {str(p.relative_to(out)): pq.read_table(p) for p in sorted(out.rglob("*.parquet"))}


def test_same_seed_same_tables_other_seed_other_tables(tmp_path: Path) -> None:
    # several chunks, so history carried between chunks and the writer thread are covered
    world = load_world("default").model_copy(update={"chunk_offers": 1000})
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        simulate(tmp_path / name, world, n_offers=3000, seed=seed)
    a, b, c = (_tables(tmp_path / n) for n in "abc")
    assert a.keys() == b.keys() and "offers/part-00002.parquet" in a
    assert all(a[k].equals(b[k]) for k in a)
    assert not a["offers/part-00000.parquet"].equals(c["offers/part-00000.parquet"])


def test_contract_integrity(default_world) -> None:
    out, offers, _ = default_world
    products = pd.read_parquet(out / "products.parquet")
    judgments = pd.read_parquet(out / "judgments.parquet")
    orders = pd.read_parquet(out / "orders")
    assert len(offers) == N_SMALL
    assert products.product_id.is_unique and offers.offer_id.is_unique
    for table, required in (
        (products, ["product_id", "title", "category", "price"]),
        (offers, list(offers.columns)),
        (judgments, list(judgments.columns)),
        (orders, list(orders.columns)),
    ):
        assert table[required].notna().all().all()
        if "product_id" in table:
            assert table.product_id.isin(products.product_id).all()
    assert (offers.engaged | ~offers.purchased).all()  # a purchase is an engagement
    assert ((offers.propensity > 0) & (offers.propensity <= 1)).all()
    assert (offers.position == 1).all()
    assert offers["query"].map(normalize_query).eq(offers["query"]).all()
    assert (products.price > 0).all()
    assert set(judgments.label) == {"0", "1"}
    # offers come in time order inside the 30-day window after the history
    start = pd.Timestamp(load_world("default").users.start)
    assert offers.timestamp.is_monotonic_increasing
    assert offers.timestamp.min() >= start > orders.timestamp[orders.order_id.str[0] == "h"].max()
    assert offers.timestamp.max() < start + pd.Timedelta(days=30)
    assert offers.offer_id.is_monotonic_increasing and offers.request_id.is_unique
    # every offer purchase is also an order row with order_id = offer_id
    bought = offers[offers.purchased]
    mirrored = orders.merge(
        bought,
        left_on=["order_id", "product_id", "user_id", "timestamp"],
        right_on=["offer_id", "product_id", "user_id", "timestamp"],
    )
    assert len(mirrored) == len(bought)


def test_store_accepts_every_row(default_world, tmp_path: Path) -> None:
    store = pytest.importorskip("seemingly.store")
    out = default_world[0]
    report = store.validate(out)
    for name, table in report.tables.items():
        assert table.quarantined == 0, (name, table.rules)
        assert table.read == table.accepted
    assert set(report.tables) == {"products", "offers", "judgments", "orders"}


def test_query_lengths_and_pools(default_world) -> None:
    _, offers, x = default_world
    lengths = offers["query"].str.split().str.len()
    assert lengths.min() == 1 or lengths.min() == 2
    assert lengths.max() <= 10
    assert (lengths <= 2).mean() > 0.05 and (lengths >= 6).mean() > 0.1
    n = x.groupby(["query", "relevant", "product_id"]).size().rename("n").reset_index()
    both = n[n.n >= 5].groupby("query").relevant.nunique()
    assert (both == 2).mean() > 0.5  # most queries have a relevant and an irrelevant level


def test_propensity_matches_offer_shares(default_world) -> None:
    _, offers, _ = default_world
    g = offers.groupby(["query", "product_id"]).propensity
    assert (g.nunique() == 1).all()  # one policy probability per (query, product)
    per_query = g.first().groupby(level=0).sum()
    assert (per_query <= 1 + 1e-9).all()
    share = offers.groupby(["query", "product_id"]).size() / offers.groupby("query").size()
    p = g.first()
    n_q = offers.groupby("query").size().reindex(p.index.get_level_values(0)).to_numpy()
    z = (share - p) / np.sqrt(p * (1 - p) / n_q)
    assert abs(z.mean()) < 0.2 and z.std() < 1.3


def test_history_is_strictly_earlier_purchases_in_orders(default_world) -> None:
    out, _, x = default_world
    orders = pd.read_parquet(out / "orders")
    first = orders.groupby(["user_id", "product_id"]).timestamp.min().rename("first")
    m = x.join(first, on=["user_id", "product_id"])
    measured = m["first"].notna() & (m["first"] < m["timestamp"])
    assert (measured == m["history"]).all()
    assert 0.02 < m.history[~m.relevant].mean() < 0.4
    # brand history: an earlier order of any product of the offered product's brand
    brand = pd.read_parquet(out / "products.parquet").set_index("product_id").brand
    first_b = (
        orders.assign(brand=orders.product_id.map(brand))
        .groupby(["user_id", "brand"])
        .timestamp.min()
        .rename("first_b")
    )
    mb = m.assign(brand=m.product_id.map(brand)).join(first_b, on=["user_id", "brand"])
    measured_b = mb["first_b"].notna() & (mb["first_b"] < mb["timestamp"])
    assert (measured_b == mb["brand_history"]).all()
    assert mb.brand_history[~mb.history].any()  # brand history is more than history


def test_relevant_offers_sell_more(default_world, null_world) -> None:
    for _, _, x in (default_world, null_world):
        rates = x.groupby("relevant")[["purchased", "engaged"]].mean()
        assert rates.loc[True, "purchased"] > 1.5 * rates.loc[False, "purchased"]
        assert rates.loc[True, "engaged"] > rates.loc[False, "engaged"]


def _rate(frame: pd.DataFrame, mask: pd.Series) -> float:
    return float(frame.purchased[mask].mean())


def test_binned_planted_directions(default_world) -> None:
    _, _, x = default_world
    i = x[~x.relevant]
    pop = i.popularity_z.rank(pct=True)
    assert _rate(i, pop > 0.8) > _rate(i, pop <= 0.2)
    price = i.log2_price_ratio
    assert _rate(i, price < -1) > _rate(i, price > 1)
    assert _rate(i, i.category.isin(["toys", "digital"])) > _rate(
        i, i.category.isin(["beauty", "grocery"])
    )
    medium = i.query_length.between(3, 5)
    assert _rate(i, i.query_length <= 2) > _rate(i, medium)
    assert _rate(i, i.query_length >= 6) > _rate(i, medium)
    assert _rate(i, i.semantic > 0.4) > _rate(i, i.semantic < 0.05)
    assert _rate(i, i.copurchase) > _rate(i, ~i.copurchase)
    assert _rate(i, i.history) > _rate(i, ~i.history)


def _logit(i: pd.DataFrame, outcome: str = "purchased"):
    X = pd.DataFrame(
        {
            "popularity": i.popularity_z,
            "price": i.log2_price_ratio,
            "flexible": i.category.isin(["toys", "digital"]).astype(float),
            "strict": i.category.isin(["beauty", "grocery"]).astype(float),
            "short": (i.query_length <= 2).astype(float),
            "long": (i.query_length >= 6).astype(float),
            "semantic": i.semantic,
            "copurchase": i.copurchase.astype(float),
            "history": i.history.astype(float),
            "brand_history": i.brand_history.astype(float),
        }
    )
    return sm.Logit(i[outcome].astype(float), sm.add_constant(X)).fit(disp=0)


def test_logit_recovers_planted_purchase_coefficients(default_world) -> None:
    _, _, x = default_world
    fit = _logit(x[~x.relevant])
    eff = load_world("default").purchase
    planted = {
        "const": eff.base,
        "popularity": eff.popularity,
        "price": eff.price,
        "flexible": eff.category["toys"],
        "strict": eff.category["beauty"],
        "short": eff.short,
        "long": eff.long,
        "semantic": eff.semantic,
        "copurchase": eff.copurchase,
        "history": eff.history,
        "brand_history": eff.brand_history,
    }
    ci = fit.conf_int(alpha=0.001)
    for name, value in planted.items():
        assert ci.loc[name, 0] < value < ci.loc[name, 1], (name, value, ci.loc[name].tolist())
        if name not in ("const", "brand_history"):
            assert np.sign(fit.params[name]) == np.sign(value)
            assert fit.pvalues[name] < 0.01, name


def test_null_world_has_no_factor_effect(null_world) -> None:
    _, _, x = null_world
    fit = _logit(x[~x.relevant])
    ci = fit.conf_int(alpha=0.001).drop(index="const")
    assert ((ci[0] < 0) & (ci[1] > 0)).all(), ci
    base = load_world("null").purchase.base
    assert abs(fit.params["const"] - base) < 0.2


def test_confounded_world_price_correlated_but_inert(tmp_path: Path) -> None:
    _, _, x = _run(tmp_path, "confounded")
    i = x[~x.relevant]
    assert np.corrcoef(i.popularity_z, i.log2_price_ratio)[0, 1] < -0.5
    # marginally cheap irrelevant products sell better (through popularity) ...
    assert _rate(i, i.log2_price_ratio < -0.5) > _rate(i, i.log2_price_ratio > 0.5)
    fit = _logit(i)
    ci = fit.conf_int(alpha=0.001)
    # ... but with popularity held fixed, price has no effect
    assert ci.loc["price", 0] < 0 < ci.loc["price", 1]
    assert ci.loc["popularity", 0] > 0


def test_truth_json_matches_config(default_world) -> None:
    out = default_world[0]
    truth = json.loads((out / "truth.json").read_text())
    cfg = load_world("default")
    assert truth["config"] == json.loads(cfg.model_dump_json())
    assert truth["coefficients"]["purchase"] == cfg.purchase.model_dump()
    assert truth["seed"] == 3 and truth["n_offers"] == N_SMALL and truth["world"] == "default"
    assert truth["expected"] == {
        "popularity": "+",
        "price": "-",
        "category": {"flexible": ["digital", "toys"], "strict": ["beauty", "grocery"]},
        "query_length": "U",
        "semantic_relation": "+",
        "copurchase_relation": "+",
        "personal_history": "+",
    }


def test_null_truth_is_all_zero(null_world) -> None:
    truth = json.loads((null_world[0] / "truth.json").read_text())
    exp = truth["expected"]
    assert exp["category"] == {"flexible": [], "strict": []}
    assert {v for k, v in exp.items() if k != "category"} == {"0"}
    assert truth["coefficients"]["purchase"]["popularity"] == 0.0


def test_every_named_world_loads() -> None:
    assert {"default", "null", "confounded", "retail"} <= set(WORLDS)
    for name in WORLDS:
        assert load_world(name).name == name
    conf = load_world("confounded")
    assert conf.purchase.price == 0.0 and conf.purchase.popularity > 0
    assert conf.engagement.base == WorldConfig().engagement.base  # sections merge


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[purchase]\nhistroy = 1.0\n", r"purchase\.histroy"),
        ("offers_per_query = 5\n", r"offers_per_query"),
        ("[users]\nhome_share = 2.0\n", r"users\.home_share"),
        ("[policy]\nrelevant_weight = 'high'\n", r"policy\.relevant_weight"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_world(path)


def test_yaml_config_and_k_offers_per_request(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        "policy:\n  offers_per_request: 2\npurchase:\n  history: 0.0\n"
        "catalog:\n  products_per_type: 10\nchunk_offers: 1000\n"
    )
    cfg = load_world(path)
    assert cfg.name == "two" and cfg.purchase.history == 0.0 and cfg.purchase.short > 0
    res = simulate(tmp_path / "out", cfg, n_offers=2501, seed=5)
    offers = pd.read_parquet(tmp_path / "out" / "offers")
    assert len(offers) == res.counts["offers"] == 2501
    assert len(list((tmp_path / "out" / "offers").glob("part-*.parquet"))) == 3
    assert set(offers.position) == {1, 2}
    per_request = offers.groupby("request_id").agg(
        n=("product_id", "size"), distinct=("product_id", "nunique"), users=("user_id", "nunique")
    )
    assert (per_request.n == per_request.distinct).all() and (per_request.users == 1).all()
    assert json.loads((tmp_path / "out" / "truth.json").read_text())["world"] == "two"


def test_cli_writes_world_and_shows_default_seed(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["simulate", "--help"]).output
    assert "--seed" in help_text and "7" in help_text
    result = runner.invoke(
        app, ["simulate", str(tmp_path / "w"), "--offers", "1500", "--world", "null"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "w" / "truth.json").read_text())["seed"] == 7
    bad = runner.invoke(app, ["simulate", str(tmp_path / "x"), "--world", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output


def _tiny_catalog(folder: Path) -> None:
    folder.mkdir()
    titles = [
        "RED RETROSPOT JUMBO BAG",
        "PINK POLKADOT JUMBO BAG",
        "BLUE SHOPPER BAG",
        "WHITE HANGING HEART T-LIGHT HOLDER",
        "GLASS STAR T-LIGHT HOLDER",
        "RED HEART T-LIGHT HOLDER",
        "SPACEBOY LUNCH BOX",
        "PINK LUNCH BOX",
        "MINI JIGSAW LEAP FROG",
        "WOODEN JIGSAW DOLLY GIRL",
        "LAVENDER SOAP",
        "ROSE SOAP",
        "STRAWBERRY JAM",
        "ENGLISH TEA",
        "PARTY BUNTING",
        "RED BUNTING",
    ]
    pd.DataFrame(
        {
            "product_id": [f"S{i}" for i in range(len(titles))],
            "title": titles,
            "category": None,
            "price": np.linspace(0.5, 8.0, len(titles)),
            "brand": None,
            "product_type": None,
        }
    ).to_parquet(folder / "products.parquet")
    rng = np.random.default_rng(0)
    rows = []
    for order in range(300):
        user = f"C{rng.integers(40)}"
        ts = pd.Timestamp("2011-01-01") + pd.Timedelta(hours=int(order))
        # bags go with lunch boxes, soap with jam: baskets the complements should find
        pair = [(0, 6), (1, 7), (10, 12), (3, 14)][order % 4]
        for p in pair:
            rows.append((f"I{order}", user, f"S{p}", ts))
    pd.DataFrame(rows, columns=["order_id", "user_id", "product_id", "timestamp"]).to_parquet(
        folder / "orders.parquet"
    )


def test_retail_world_on_a_tiny_catalog(tmp_path: Path) -> None:
    _tiny_catalog(tmp_path / "cat")
    out = tmp_path / "out"
    simulate(out, "retail", n_offers=3000, seed=1, catalog_path=tmp_path / "cat")
    products = pd.read_parquet(out / "products.parquet").set_index("product_id")
    assert products.loc["S0", "product_type"] == "bag"
    assert products.loc["S3", "product_type"] == "holder"
    assert products.loc["S8", "product_type"] == "jigsaw"
    assert products.loc["S8", "category"] == "toys"
    assert products.loc["S10", "category"] == "beauty"
    assert products.loc["S12", "category"] == "food"
    offers = pd.read_parquet(out / "offers")
    orders = pd.read_parquet(out / "orders")
    assert offers.user_id.isin(orders.user_id).all()  # real customers
    assert offers.timestamp.min() > pd.Timestamp("2011-01-13")  # after the real history
    assert set(orders.order_id).issuperset({"I0", "I299"})
    words = set(" ".join(offers["query"]).split())
    assert {"bag", "holder"} & words
    with pytest.raises(ValueError, match="catalog"):
        simulate(tmp_path / "o2", "retail", n_offers=10, seed=1)


def _reference_cosine(toks: frozenset[str], relevant: list[frozenset[str]]) -> float:
    """Cosine of a binary token vector to the mean of the relevant products' vectors."""
    centroid = Counter(t for r in relevant for t in r)
    norm = math.sqrt(sum((v / len(relevant)) ** 2 for v in centroid.values()))
    dot = sum(centroid[t] / len(relevant) for t in toks)
    return dot / (math.sqrt(len(toks)) * norm) if toks and norm else 0.0


def _core(text: str) -> str:
    """The query without its request phrases (longest known prefix and suffix)."""
    for pre in sorted(PREFIXES, key=len, reverse=True):
        if text.startswith(pre + " "):
            text = text[len(pre) + 1 :]
            break
    for suf in sorted(SUFFIXES, key=len, reverse=True):
        if text.endswith(" " + suf):
            return text[: -len(suf) - 1]
    return text


def test_pools_meet_their_definitions() -> None:
    cfg = load_world("default")
    rng = np.random.default_rng(5)
    cat = build_synthetic_catalog(cfg, rng)
    pools = build_pools(cfg, cat, 3000, rng)
    assert pools.n == 3000 and len(set(pools.text)) == 3000
    assert all(normalize_query(t) == t for t in pools.text)
    assert pools.length.tolist() == [len(t.split()) for t in pools.text]
    assert pools.length.max() <= 10
    kinds_seen: Counter[str] = Counter()
    for q in range(pools.n):
        filled = pools.product[q] >= 0
        assert filled[: filled.sum()].all()  # no gaps between candidates
        prods = pools.product[q, filled]
        kinds = [KINDS[k] for k in pools.kind[q, filled]]
        assert len(set(prods.tolist())) == prods.size
        rel = prods[pools.relevant[q, filled]]
        assert 1 <= rel.size <= 4 and 2 <= prods.size - rel.size <= 5
        seed = rel[0]
        t, c, b = cat.product_type[seed], cat.category[seed], cat.brand[seed]
        words = Counter(_core(pools.text[q]).split())
        words.subtract(cat.type_names[t].split())  # "usb" of "usb cable" is not a constraint
        use_brand = b >= 0 and words[normalize_query(cat.brand_names[b])] > 0
        named = [a for a in cat.attrs[seed] if a >= 0 and words[cat.attr_names[a]] > 0]

        def matches(p: int, t: int = t, b: int = b, brand: bool = use_brand) -> bool:
            attrs = cat.attrs[p].tolist()
            ok = cat.product_type[p] == t and (not brand or cat.brand[p] == b)
            return ok and all(a in attrs for a in named)  # noqa: B023

        assert all(matches(p) for p in rel)
        comp = set(cat.type_complements[t])
        for p, kind in zip(prods.tolist(), kinds, strict=True):
            kinds_seen[kind] += 1
            pt = cat.product_type[p]
            if kind != "relevant":
                assert not matches(p), (q, p, kind)
            assert {
                "relevant": pt == t,
                "substitute": pt == t,
                "same_brand": cat.brand[p] == b and pt != t,
                "same_category": cat.category[p] == c and pt != t and cat.brand[p] != b,
                "complement": pt in comp,
                "unrelated": cat.category[p] != c and pt not in comp,
            }[kind], (q, p, kind)
        toks = [cat.tokens[p] for p in rel]
        want = [_reference_cosine(cat.tokens[p], toks) for p in prods]
        np.testing.assert_allclose(pools.semantic[q, filled], want, rtol=1e-12, atol=1e-12)
        med = float(np.median(cat.price[rel]))
        np.testing.assert_allclose(
            pools.log2_price_ratio[q, filled], np.log2(cat.price[prods] / med)
        )
    assert set(kinds_seen) == set(KINDS)
    # the configured kind mix (substitutes impossible for type-only queries become unrelated)
    irr = sum(v for k, v in kinds_seen.items() if k != "relevant")
    assert 0.15 < kinds_seen["same_category"] / irr < 0.25
    assert 0.15 < kinds_seen["complement"] / irr < 0.25


def test_ids_are_zero_padded_like_zfill() -> None:
    numbers = np.array([0, 7, 42, 999_999_999])
    assert ids("o", numbers, 9).to_pylist() == ["o" + str(n).zfill(9) for n in numbers]
    assert ids("a", np.array([3, 123]), 2).to_pylist() == ["a03", "a123"]
    assert ids("h", np.array([], dtype=np.int64), 9).to_pylist() == []


def test_sampler_is_an_inverse_cdf_draw() -> None:
    w = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 0.5, 0.0, 1e-9, 4.0])
    got = Sampler(w).draw(np.random.default_rng(1), 100_000)
    u = np.random.default_rng(1).random(100_000)
    assert np.array_equal(got, np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"))
    assert set(np.unique(got)) <= set(np.flatnonzero(w > 0))


def test_background_writer_writes_the_same_parts(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tables = [
        pa.table({"x": pa.array(np.arange(n)), "s": ids("s", np.arange(n) % 7, 2)})
        for n in (5, 0, 3)
    ]
    with ThreadPoolExecutor(1) as pool:
        a, b = PartWriter(tmp_path / "a", pool), PartWriter(tmp_path / "b")
        for t in tables:
            a.write(t)
            b.write(t)
        a.close()
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["part-00000.parquet", "part-00001.parquet"] and a.rows == b.rows == 8
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()


@pytest.mark.parametrize("max_bytes", [1 << 20, 16])  # a bitmap, then a sorted array
def test_key_set_matches_a_python_set(max_bytes: int) -> None:
    rng = np.random.default_rng(2)
    keys, ref = KeySet(5000, max_bitmap_bytes=max_bytes), set()
    assert (keys.bits is None) == (max_bytes == 16)
    for _ in range(4):
        new = rng.integers(0, 5000, 300)
        keys.add(new)
        ref.update(new.tolist())
        probe = rng.integers(0, 5000, 2000)
        assert keys.contains(probe).tolist() == [int(p) in ref for p in probe]
    everything = np.arange(5000)
    assert int(keys.contains(everything).sum()) == len(ref)


def test_row_sampler_alias_tables_reproduce_the_weights() -> None:
    w = np.array(
        [[2.5, 2.5, 1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0, 3, 1, 1, 1, 5.0]]
    )
    s = RowSampler(w)
    p = w.shape[1]
    # slot j is drawn from cell j with prob[j], and from any cell i aliased to j with 1 - prob[i]
    prob, alias = s.prob.reshape(w.shape), s.alias.reshape(w.shape)
    implied = np.zeros(w.shape)
    for r in range(w.shape[0]):
        for i in range(p):
            implied[r, i] += prob[r, i] / p
            implied[r, alias[r, i]] += (1 - prob[r, i]) / p
    np.testing.assert_allclose(implied, w / w.sum(axis=1, keepdims=True), atol=1e-12)
    draws = s.draw(np.repeat(np.arange(3), 20_000), np.random.default_rng(0)).reshape(3, -1)
    assert all(w[r, draws[r]].min() > 0 for r in range(3))  # never an empty slot
    assert abs((draws[0] == 0).mean() - 2.5 / 7) < 0.01

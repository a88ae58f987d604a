"""Typed world configuration (pydantic, ``extra="forbid"``) and the named worlds.

A world is everything the simulator needs besides the seed and the number of offers: sizes,
planted effect sizes (log-odds), the logging policy, annotator noise and, for the ``retail``
world, the folder of a real catalog. Named worlds live in ``worlds/*.toml`` beside this
module; a user's TOML or YAML file is validated by the same model, so a misspelt key is an
error that names the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["WorldConfig", "WORLDS", "load_world"]

_WORLD_DIR = Path(__file__).with_name("worlds")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Effects(_Strict):
    """Log-odds coefficients of one outcome, for irrelevant offers.

    ``logit P = base + popularity*z(log popularity) + price*log2(price ratio)
    + category[c] + short*[len<=2] + long*[len>=6] + semantic*relation
    + copurchase*[complement] + history*[bought product before]
    + brand_history*[bought brand before]``.
    """

    base: float = -4.0
    popularity: float = 0.5
    price: float = -0.45
    category: dict[str, float] = Field(
        default_factory=lambda: {"toys": 0.6, "digital": 0.6, "beauty": -0.6, "grocery": -0.6}
    )
    short: float = 0.45
    long: float = 0.35
    semantic: float = 1.6
    copurchase: float = 0.9
    history: float = 1.2
    brand_history: float = 0.3
    relevant_base: float = Field(default=-1.7, description="base log-odds of a relevant offer")
    relevant_scale: float = Field(
        default=0.4, ge=0, description="relevant offers use the same factor terms times this scale"
    )


def _default_engagement() -> Effects:
    return Effects(
        base=-2.9,
        popularity=0.35,
        price=-0.25,
        category={"toys": 0.4, "digital": 0.4, "beauty": -0.4, "grocery": -0.4},
        short=0.3,
        long=0.25,
        semantic=1.2,
        copurchase=0.6,
        history=0.8,
        brand_history=0.2,
        relevant_base=-1.0,
        relevant_scale=0.4,
    )


class CatalogConfig(_Strict):
    """Size and shape of the synthetic catalog."""

    products_per_type: int = Field(default=40, ge=4, le=10_000)
    zipf_exponent: float = Field(default=1.0, ge=0, description="popularity weight ~ 1 / rank**a")
    category_price_levels: bool = Field(
        default=True, description="each category has its own typical price (False: one level, 10)"
    )
    type_price_spread: float = Field(
        default=0.8, ge=0, description="sd of log2 type median price around its category's median"
    )
    within_type_price_sd: float = Field(
        default=0.4, ge=0, description="sd of log2 price within type"
    )
    price_popularity_slope: float = Field(
        default=0.0,
        description="log2 price shift per sd of log popularity (negative: popular = cheap)",
    )


class Queries(_Strict):
    """Distinct queries and their candidate pools."""

    offers_per_query: int = Field(default=100, ge=5)
    max_queries: int = Field(default=20_000, ge=10)
    min_queries: int = Field(default=20, ge=1)
    relevant_per_query: tuple[int, int] = (1, 4)
    irrelevant_per_query: tuple[int, int] = (2, 5)
    irrelevant_kinds: dict[str, float] = Field(
        default_factory=lambda: {
            "substitute": 0.25,
            "same_brand": 0.15,
            "same_category": 0.2,
            "complement": 0.2,
            "unrelated": 0.2,
        },
        description="relative weight of each kind of irrelevant candidate",
    )
    query_weight_sd: float = Field(default=0.6, ge=0, description="lognormal sd of query frequency")


class Policy(_Strict):
    """The logging policy that picks the offered product from a query's pool."""

    relevant_weight: float = Field(
        default=2.5, gt=0, description="sampling weight of a relevant product"
    )
    irrelevant_weight: float = Field(default=1.0, gt=0)
    offers_per_request: int = Field(
        default=1, ge=1, le=10, description="k offers per request (voice: 1; a ranked list: 10)"
    )
    popularity_exponent: float = Field(
        default=0.0,
        description="the policy weight is also multiplied by exp(this * z(log popularity)): "
        "popular products are ranked higher, as by a ranker trained on past purchases",
    )


class Examination(_Strict):
    """Whether a customer sees an offer: the position bias of a ranked list.

    ``none`` (voice): every offer is heard. ``position``: the position-based model, the offer
    at position j is examined with probability ``curve[j-1]`` (or ``j ** -decay`` when no
    curve is given), independently of everything else. ``cascade``: the customer reads down
    the list, stops after the first engaged offer, and otherwise goes on to the next with
    probability ``continue_prob``. Purchase and engagement happen only on examined offers,
    with the planted effects of ``purchase`` and ``engagement``.
    """

    model: Literal["none", "position", "cascade"] = "none"
    decay: float = Field(default=1.0, ge=0, description="position model: j ** -decay")
    curve: tuple[float, ...] | None = Field(
        default=None, description="position model: examination probability per position"
    )
    continue_prob: float = Field(default=0.9, ge=0, le=1, description="cascade model")

    def position_curve(self, k: int) -> list[float]:
        """Examination probability of positions 1..k under the position-based model."""
        if self.curve is not None:
            if len(self.curve) < k or any(not 0 < c <= 1 for c in self.curve):
                raise ValueError(
                    f"examination.curve needs {k} probabilities in (0, 1] (one per position "
                    f"of policy.offers_per_request), got {list(self.curve)}"
                )
            return [float(c) for c in self.curve[:k]]
        return [float(j ** -self.decay) for j in range(1, k + 1)]


class Users(_Strict):
    """Customers, their favourite queries and their purchase history."""

    offers_per_user: float = Field(default=25.0, gt=0)
    max_users: int = Field(default=200_000, ge=1)
    home_queries: int = Field(default=6, ge=1, description="queries a user keeps coming back to")
    home_share: float = Field(
        default=0.75, ge=0, le=1, description="share of requests from home queries"
    )
    history_orders_per_offer: float = Field(default=0.25, ge=0, description="pre-window order rows")
    history_home_share: float = Field(default=0.5, ge=0, le=1)
    basket_complement_prob: float = Field(default=0.6, ge=0, le=1)
    history_days: int = Field(default=180, ge=1)
    offer_days: int = Field(default=30, ge=1)
    start: str = "2024-01-01"


class Annotation(_Strict):
    """Who judges which (query, product) pairs and how noisily."""

    judged_share: float = Field(default=0.9, ge=0, le=1)
    annotators: tuple[int, int] = (1, 3)
    n_annotators_pool: int = Field(default=12, ge=1)
    hard_share: float = Field(default=0.12, ge=0, le=1, description="share of ambiguous pairs")
    hard_flip: float = Field(
        default=0.3, ge=0, le=1, description="flip probability on ambiguous pairs"
    )
    flip: float = Field(default=0.02, ge=0, le=1, description="flip probability on clear pairs")


class WorldConfig(_Strict):
    """Everything that defines a world except the seed and the number of offers."""

    name: str = "custom"
    kind: Literal["synthetic", "retail"] = "synthetic"
    catalog_path: str | None = Field(
        default=None, description="contract folder (retail world only)"
    )
    purchase: Effects = Field(default_factory=lambda: Effects())
    engagement: Effects = Field(default_factory=_default_engagement)
    catalog: CatalogConfig = Field(default_factory=lambda: CatalogConfig())
    queries: Queries = Field(default_factory=lambda: Queries())
    policy: Policy = Field(default_factory=lambda: Policy())
    examination: Examination = Field(default_factory=lambda: Examination())
    users: Users = Field(default_factory=lambda: Users())
    annotation: Annotation = Field(default_factory=lambda: Annotation())
    chunk_offers: int = Field(
        default=500_000, ge=1000, description="offers per written Parquet part"
    )
    null_effects: bool = Field(
        default=False, description="no factor moves any offer's probability (the null world)"
    )


def _world_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(_WORLD_DIR.glob("*.toml"))}


WORLDS: dict[str, Path] = _world_files()


def _read_mapping(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ValueError(
                f"world file {path}: unknown extension {path.suffix!r}; use .toml, .yaml or .yml"
            )
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = path.suffix[1:].upper()
        raise ValueError(f"world file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(
            f"world file {path}: expected a table of settings, got {type(data).__name__}"
        )
    return data


def _overlay(model: BaseModel, data: dict[str, Any]) -> dict[str, Any]:
    """Overlay ``data`` on a model's values; sections (sub-models) merge, other values replace.

    So ``[engagement] history = 0`` keeps the engagement defaults for every other key, while
    ``category = {}`` really empties the category effects.
    """
    merged: dict[str, Any] = {k: getattr(model, k) for k in type(model).model_fields}
    for key, value in data.items():
        current = merged.get(key)
        if isinstance(current, BaseModel) and isinstance(value, dict):
            merged[key] = _overlay(current, value)
        else:
            merged[key] = value
    return merged


def _validate(data: dict[str, Any], source: str) -> WorldConfig:
    try:
        return WorldConfig.model_validate(_overlay(WorldConfig(), data))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
        raise ValueError(
            f"world config {source} has {len(lines)} invalid setting(s):\n"
            + "\n".join(lines)
            + "\nSee seemingly.simulate.WorldConfig for the accepted keys and ranges."
        ) from None


def load_world(name_or_path: str | Path) -> WorldConfig:
    """Return the validated world for a name in ``WORLDS`` or a TOML/YAML file path.

    Examples
    --------
    >>> load_world("null").null_effects
    True
    """
    key = str(name_or_path)
    if key in WORLDS:
        data = _read_mapping(WORLDS[key])
        data.setdefault("name", key)
        return _validate(data, f"{key!r} ({WORLDS[key].name})")
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(
            f"unknown world {key!r}: not one of {sorted(WORLDS)} and no such file; "
            "pass a world name or the path of a .toml/.yaml world file"
        )
    data = _read_mapping(path)
    data.setdefault("name", path.stem)
    return _validate(data, str(path))

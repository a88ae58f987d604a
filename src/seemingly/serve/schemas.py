"""Request and response bodies of the service.

Requests are strict and closed (``extra="forbid"``): a typo in a field name or a number sent
as a string is a 422 naming the field, not a silently ignored input. Responses are separate
models so the served OpenAPI schema documents exactly what comes back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from seemingly.serve.text import clean_text

__all__ = ["RankRequest", "RankResponse", "FeedbackRequest", "FeedbackResponse"]

MAX_QUERY_CHARS = 512
PERSONAL_PREFIX = "user_bought_"  # features that tell what a user bought
MAX_CANDIDATES = 1000
# Generous bounds on free text: they only stop pathological bodies, the 1 MB limit does the rest.
# Ids are echoed back exactly as sent (no stripping), so a client can join on them.
# Free text is cleaned (NFKC, no zero-width or control characters) and capped again after
# cleaning, since NFKC may lengthen it (see seemingly.serve.text).
MAX_TITLE_CHARS = 2000
MAX_LABEL_CHARS = 256
_ID = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _cleaned(max_chars: int) -> AfterValidator:
    return AfterValidator(lambda text: clean_text(text, max_chars))


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("title is blank once invisible characters are removed")
    return text


_TEXT = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS),
                  _cleaned(MAX_TITLE_CHARS), AfterValidator(_not_blank)]
_LABEL = Annotated[str, StringConstraints(max_length=MAX_LABEL_CHARS), _cleaned(MAX_LABEL_CHARS)]


def _strip_query(text: str) -> str:
    stripped = clean_text(text, MAX_QUERY_CHARS).strip()
    if not stripped:
        raise ValueError("query is blank (a zero-width or control character is not a word); "
                         "send the customer's words")
    return stripped


class _Request(BaseModel):
    # strict: "12.5" is not a price and 1 is not a query; JSON ints still count as floats.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Candidate(_Request):
    """One product to rank, with the products-table columns the features need."""

    product_id: _ID
    title: _TEXT
    category: _LABEL
    price: float = Field(ge=0, allow_inf_nan=False, description="finite, >= 0")
    brand: _LABEL | None = None
    product_type: _LABEL | None = None


class RankRequest(_Request):
    """``POST /v1/rank`` body."""

    # The 512 limit applies to the text as sent (what the OpenAPI schema says); the stripped
    # text must still hold something.
    query: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS),
        AfterValidator(_strip_query),
    ] = Field(description=f"the customer's query: 1..{MAX_QUERY_CHARS} characters, not blank")
    request_id: _ID | None = Field(
        None, description="names this request in the answer, the impression log and "
        "feedback; generated (32 hex digits) when absent")
    user_id: _ID | None = Field(None, description="enables personal-history features")
    candidates: list[Candidate | _ID] = Field(
        max_length=MAX_CANDIDATES,
        description="products to rank: full rows, or product ids alone, whose columns are "
        "taken from the model's catalog snapshot (unknown ids are a 422)")
    weight: float = Field(
        ge=0, le=1, allow_inf_nan=False,
        description="relevance weight of the fused score: 1 = relevance only, 0 = outcome only",
    )
    objective: Literal["purchase", "engagement"]
    k: int | None = Field(None, ge=1, le=MAX_CANDIDATES, description="return the top k only")
    explain: bool = Field(False, description="add the feature values each score was computed from")

    @field_validator("candidates")
    @classmethod
    def _unique_products(cls, candidates: list[Candidate | str]) -> list[Candidate | str]:
        # A repeated product would be scored twice and make the ranking ambiguous.
        first: dict[str, int] = {}
        for i, c in enumerate(candidates):
            pid = c if isinstance(c, str) else c.product_id
            if pid in first:
                raise ValueError(
                    f"product_id {pid!r} appears at positions {first[pid]} "
                    f"and {i}; send each product once"
                )
            first[pid] = i
        return candidates


class RankedItem(BaseModel):
    """One ranked candidate; ``rank`` starts at 1."""

    rank: int
    product_id: str
    relevance: float = Field(description="relevance model score (probability of relevant)")
    outcome: float = Field(description="purchase or engagement model score (the objective)")
    fused: float = Field(
        description="the score the ranking is sorted by: weight * norm(relevance) + "
        "(1 - weight) * norm(outcome), normalised within this candidate set (see the "
        "manifest's normalization)"
    )
    propensity: float = Field(
        description="probability the serving policy put this product here, given the ones "
        "above it (1 unless the service explores)")
    features: dict[str, float | None] | None = Field(
        None, description="feature values (explain=true only); null marks a missing value"
    )


class RankResponse(BaseModel):
    """``POST /v1/rank`` answer: candidates in served order, best first (a service started
    with ``--explore`` serves a randomised order; each item's ``propensity`` says how likely)."""

    request_id: str = Field(description="the request's id, as sent or generated")
    objective: Literal["purchase", "engagement"]
    weight: float
    n_candidates: int
    results: list[RankedItem]


class FeedbackRequest(_Request):
    """``POST /v1/feedback`` body: what the customer did with one served product."""

    request_id: _ID = Field(description="the request_id of the ranking that served it")
    product_id: _ID
    engaged: bool = Field(description="any engagement (add to cart, purchase, ...)")
    purchased: bool


class FeedbackResponse(BaseModel):
    accepted: Literal[True]


class ReadyResponse(BaseModel):
    status: Literal["ready"]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model_loaded: bool


class ModelResponse(BaseModel):
    """``GET /v1/model``: what a client needs to call the service and read its answers.

    The manifest's training details (metrics, feature importances, data fingerprint, file
    hashes, the training window) stay on the server: they describe the training data, which a
    caller has no need to learn.
    """

    model_dir: str = Field(description="the model directory's name (not its path)")
    format_version: int
    seemingly_version: str
    objectives: list[str] = Field(description="the values `objective` accepts")
    normalization: str = Field(description="how scores are normalised before fusing")
    feature_names: list[str] = Field(description="the features `explain` may return")


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: ``detail`` is a message or a list of field-level errors."""

    detail: str | list[ErrorItem]

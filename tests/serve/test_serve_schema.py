"""Property-based run of the served OpenAPI schema (schemathesis): no input gives a 5xx.

Valid and invalid requests are generated from ``/openapi.json`` and sent in-process to the
app serving a real trained model; every answer is checked against the documented schema.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from support.serve_model import build_model_dir

from seemingly.serve import create_app

pytestmark = pytest.mark.slow

# Per operation; POST /v1/rank gets most of them (the GET endpoints have nothing to vary), and
# schemathesis adds its coverage-phase cases, so the run sends well over 1,000 requests.
MAX_EXAMPLES = 900
SENT: Counter[str] = Counter()


_MODEL_DIR: list[Path] = []


def _load_trained(_placeholder: Path) -> Any:
    # The app (and so its schema) exists at import time, the model only once the fixture has
    # trained it: the lifespan runs on the first request, after ``model_dir``.
    from seemingly.ranking.models import Ranker

    return Ranker.load(_MODEL_DIR[-1])


# With a log, so POST /v1/feedback takes its accepting path (the directory outlives the run
# only until the process exits).
_LOG_DIR = tempfile.mkdtemp(prefix="seemingly-schema-log-")
atexit.register(shutil.rmtree, _LOG_DIR, ignore_errors=True)
APP = create_app("trained-in-fixture", loader=_load_trained, log_dir=_LOG_DIR)
# from_dict + app rather than from_asgi: fetching /openapi.json through schemathesis' client
# would run the lifespan (load the model) at import time.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)


@pytest.fixture(scope="module", autouse=True)
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_model_dir(tmp_path_factory.mktemp("serve-schema"))
    _MODEL_DIR.append(path)
    return path


_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _call(case: Any) -> None:
    SENT[case.operation.label] += 1
    # positive_data_acceptance is off: the schema cannot say "product_id unique within the
    # list", so a schema-valid body with a repeated product is (rightly) a 422.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


# One test function per operation: schemathesis gives every operation of one
# parametrized function the same node id, and pytest-xdist's --dist loadfile then ran only
# one of them.
@schema.include(path="/v1/rank").parametrize()
@_SETTINGS
def test_rank_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/v1/model").parametrize()
@_SETTINGS
def test_model_info_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/healthz").parametrize()
@_SETTINGS
def test_health_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/v1/feedback").parametrize()
@_SETTINGS
def test_feedback_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/livez").parametrize()
@_SETTINGS
def test_livez_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/readyz").parametrize()
@_SETTINGS
def test_readyz_has_no_server_errors(case: Any) -> None:
    _call(case)


@schema.include(path="/metrics").parametrize()
@_SETTINGS
def test_metrics_has_no_server_errors(case: Any) -> None:
    _call(case)


def test_enough_requests_were_sent() -> None:
    print(f"schemathesis requests per operation: {dict(SENT)}")
    assert sum(SENT.values()) >= 1000, SENT
    assert SENT["POST /v1/rank"] >= 900, SENT
    assert {"GET /healthz", "GET /v1/model", "POST /v1/feedback", "GET /livez", "GET /readyz",
            "GET /metrics"} <= set(SENT), SENT

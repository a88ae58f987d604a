"""Prometheus metrics at ``GET /metrics``.

Requests and their latency come from prometheus-fastapi-instrumentator
(``http_requests_total``, ``http_request_duration_seconds`` histogram, by handler, method and
status); the log's state is read when scraped: ``seemingly_log_queue_rows`` (queue depth),
``seemingly_log_dropped_rows_total`` and ``seemingly_log_written_rows_total``, each by table
(impressions, feedback).

Each app gets its own registry, so several apps in one process (tests) do not collide. With
``--workers N`` every worker answers /metrics for itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator

from seemingly.serve.deps import serving_of_app

__all__ = ["instrument"]


class _LogCollector(Collector):
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("seemingly_log_queue_rows",
                                  "rows waiting for the log's writer thread", labels=["table"])
        dropped = CounterMetricFamily("seemingly_log_dropped_rows",
                                      "rows not logged because the queue was full",
                                      labels=["table"])
        written = CounterMetricFamily("seemingly_log_written_rows",
                                      "rows written to the log's Parquet files",
                                      labels=["table"])
        log = serving_of_app(self.app).log
        if log is not None:
            for name, table in (("impressions", log.impressions), ("feedback", log.feedback)):
                depth.add_metric([name], table.queued)
                dropped.add_metric([name], table.dropped)
                written.add_metric([name], table.written)
        yield from (depth, dropped, written)


def instrument(app: FastAPI) -> None:
    registry = CollectorRegistry()
    registry.register(_LogCollector(app))
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app)

    # our own route rather than the instrumentator's expose(): its OpenAPI entry claims JSON
    @app.get("/metrics", tags=["health"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition format"}})
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

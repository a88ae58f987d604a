"""Read deadlines and a header size limit for the service's HTTP connections.

uvicorn bounds only the idle time between requests (``timeout_keep_alive``): a client that
opens a connection and sends its headers one byte at a time, or never finishes its body, holds
the socket as long as it likes, and a few hundred such clients starve the server (the
"slowloris" attack). ``h11_max_incomplete_event_size`` bounds the size, not the time, and
only for the h11 parser. Granian and Hypercorn have read-timeout settings, but moving to
another server would mean another dependency and another worker model for one rule, and a
per-read timeout (one that restarts at every byte) would not stop a client that trickles a
byte at a time; these deadlines are totals.

So :class:`DeadlineProtocol` extends uvicorn's httptools protocol with three rules:

- the request line and headers must arrive within ``header_timeout`` seconds of the connection
  opening (or of the request's first byte, on a kept-alive connection), else ``408`` and close;
- the body must arrive within ``body_timeout`` seconds of the end of the headers, else ``408``
  and close (a handler waiting for it sees the client disconnect);
- the headers may take at most ``max_header_bytes`` bytes, else ``431`` and close.

Each deadline is one timer per connection, armed and cancelled by the parser's callbacks, so it
costs nothing per byte.
"""

from __future__ import annotations

import json
import os
from asyncio import TimerHandle
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ServeLimits", "DeadlineProtocol", "deadline_protocol", "LIMITS_ENV"]

LIMITS_ENV = "SEEMINGLY_SERVE_LIMITS"  # how `seemingly serve --workers N` tells workers


@dataclass(frozen=True)
class ServeLimits:
    """The service's bounds on one connection and on its caches."""

    header_timeout: float = 30.0  # seconds for the request line and headers
    body_timeout: float = 60.0  # seconds for the body, from the end of the headers
    max_header_bytes: int = 16_384  # as h11's default incomplete-event limit
    max_body_bytes: int = 1_048_576  # 1 MiB: room for 1,000 candidates with long titles
    cache_bytes: int = 256 << 20  # the ranker's text caches, all together

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout"):
            value = getattr(self, name)
            if not 0 < value <= 3600:
                raise ValueError(f"{name} must be in (0, 3600] seconds; got {value}")
        for name, low in (("max_header_bytes", 1024), ("max_body_bytes", 1024),
                          ("cache_bytes", 1 << 20)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}; got {getattr(self, name)}")

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeLimits:
        raw = os.environ.get(LIMITS_ENV)
        return cls(**json.loads(raw)) if raw else cls()


_HEADERS, _BODY, _IDLE = "headers", "body", "idle"


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body read deadlines and a header size limit
    (see the module doc). Its limits are ``limits``, else ``$SEEMINGLY_SERVE_LIMITS``."""

    limits: ClassVar[ServeLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = type(self).limits or ServeLimits.from_env()
        self._phase = _HEADERS
        self._deadline: TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(_HEADERS, self._limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase != _BODY:
            self._header_bytes += len(data)
        super().data_received(data)
        # Only bytes that did not complete the headers count: a packet may carry the end of
        # the headers and the start of the body.
        if (self._phase == _HEADERS and self._header_bytes > self._limits.max_header_bytes
                and not self.transport.is_closing()):
            self._refuse(431, f"request headers are over the {self._limits.max_header_bytes}"
                         "-byte limit")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != _HEADERS:  # a kept-alive connection's next request starts now
            self._header_bytes = 0
            self._arm(_HEADERS, self._limits.header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._header_bytes = 0
        self._arm(_BODY, self._limits.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._phase = _IDLE

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: str) -> None:
        self._deadline = None
        seconds = self._limits.header_timeout if phase == _HEADERS else self._limits.body_timeout
        self._refuse(408, f"the request {phase} did not arrive within {seconds:g} s")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` with a JSON detail and close, unless a response has begun."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            body = json.dumps({"detail": detail}).encode()
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason, len(body), body))
            if cycle is not None:
                # a handler still waiting for the body now reads a disconnect, and whatever
                # it sends is dropped (uvicorn's cycle ignores a disconnected client)
                cycle.disconnected = True
                cycle.message_event.set()
        self.logger.info("closing %s: %s", _peer(self.client), detail)
        self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


def deadline_protocol(limits: ServeLimits) -> type[DeadlineProtocol]:
    """A :class:`DeadlineProtocol` with ``limits`` (for a server in this process; worker
    processes read ``$SEEMINGLY_SERVE_LIMITS`` instead)."""
    return type("LimitedDeadlineProtocol", (DeadlineProtocol,), {"limits": limits})

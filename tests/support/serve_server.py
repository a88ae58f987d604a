"""A real uvicorn server on loopback in a background thread, with the service's connection
limits (the deadlines live in the HTTP protocol, which TestClient does not use)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from seemingly.serve.connections import ServeLimits, deadline_protocol


@contextmanager
def running_server(app: FastAPI, limits: ServeLimits, **options: object) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 (a free port); yields the port, stops the server after."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=deadline_protocol(limits),
                            log_level="warning", lifespan="on", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def raw_exchange(port: int, data: bytes, rest: bytes = b"", pause: float = 0.0,
                 timeout: float = 15.0) -> bytes:
    """Send ``data`` to 127.0.0.1:``port`` over a raw socket, wait ``pause`` seconds, send
    ``rest``, and read until the server closes (or ``timeout``): what a slow or malformed
    client gets back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if pause:
            time.sleep(pause)
        if rest:
            try:
                s.sendall(rest)
            except OSError:
                pass
        chunks = []
        while True:
            try:
                got = s.recv(65536)
            except (TimeoutError, ConnectionError):
                break
            if not got:
                break
            chunks.append(got)
        return b"".join(chunks)

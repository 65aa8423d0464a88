"""A provider API fake on a real local socket: the SDKs run their own HTTP code against it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalHTTPFake:
    """Serves `_handle(request)` on 127.0.0.1 at a free port while used as a context manager."""

    name = "fake"
    base: str
    lock: Any
    lost: set[tuple[str, str]]
    _server: ThreadingHTTPServer | None
    _thread: threading.Thread | None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one request (GET, POST, PATCH or DELETE)."""
        raise NotImplementedError

    def lose_answers(self, method: str, path: str) -> None:
        """Do `method path` but drop the connection instead of answering, as when the answer times out."""
        with self.lock:
            self.lost.add((method, path))

    def _answer_lost(self, request: BaseHTTPRequestHandler, method: str, path: str) -> bool:
        """True (and the connection closed unanswered) when this route's answers are to be lost."""
        with self.lock:
            if (method, path) not in self.lost:
                return False
        request.close_connection = True
        return True

    def __enter__(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_PATCH(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05),
                                        name=f"{self.name}-fake", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

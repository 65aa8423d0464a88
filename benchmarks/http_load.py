"""HTTP load on loopback: a server as production runs it (`kracht serve --workers N`) and wrk against it.

wrk (Debian's package) is bounded in time and connections; its Lua scripts in
benchmarks/lua print one JSON line of figures (requests/s, p50/p99 latency, errors).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "benchmarks" / "lua"
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def process_settings(env: dict[str, str]) -> Iterator[None]:
    """This process's KRACHT_* settings with `env` in force for the block, for in-process app calls."""
    from coop.core.settings import get_settings

    saved = {name: os.environ.get(name) for name in env}
    os.environ |= env
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def server_env(database_url: str, port: int) -> dict[str, str]:
    """The settings a benchmarked server runs with: the bench database, quiet logs, no rate limit on loopback."""
    return {**os.environ, "KRACHT_DATABASE_URL": database_url, "KRACHT_LOG_LEVEL": "WARNING",
            "KRACHT_PUBLIC_URL": f"http://127.0.0.1:{port}", "KRACHT_PUBLIC_POSTS_PER_MINUTE": "100000000"}


@contextmanager
def serving(command: Sequence[str], *, env: dict[str, str], port: int,
            ready_path: str | None = "/healthz") -> Iterator[str]:
    """Run a server until the block ends; yields its base URL once `ready_path` answers (None: once the port
    accepts connections, for Voilà, where a page request starts a kernel)."""
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)  # its own process group: its workers stop with it
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                said = process.stderr.read().decode()[-2000:] if process.stderr else ""
                raise RuntimeError(f"the server stopped: {said}")
            try:
                if ready_path is None:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                else:
                    urllib.request.urlopen(f"{base}{ready_path}", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not answer within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def kracht_server(database_url: str, *, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """The API as production serves it: uvicorn with `workers` processes and no job thread (the worker's own)."""
    port = free_port()
    command = [str(BIN / "kracht"), "serve", "--port", str(port), "--workers", str(workers), "--no-worker-thread"]
    with serving(command, env=server_env(database_url, port) | (env or {}), port=port) as base:
        yield base


@contextmanager
def benchmark_app(app: str, *, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """One of benchmarks/'s own apps (`module:app`) on the API's uvicorn settings: a ceiling to compare with."""
    port = free_port()
    command = [str(BIN / "uvicorn"), app, "--app-dir", str(ROOT / "benchmarks"), "--port", str(port),
               "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    with serving(command, env={**os.environ, **(env or {})}, port=port) as base:
        yield base


def wrk(base: str, script: str, *, connections: int, seconds: int, env: dict[str, str] | None = None,
        threads: int = 2) -> dict[str, Any]:
    """Run one wrk script against `base`; its figures as a dict."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    threads = min(threads, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(LUA / script), base]
    done = subprocess.run(command, env={**os.environ, "WRK_LUA_DIR": str(LUA), "WRK_THREADS": str(threads),
                                        **(env or {})},
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return dict(json.loads(line.removeprefix("WRK-RESULT ")))


def pgbench(database_url: str, script: Path, *, clients: int, seconds: int) -> float:
    """Transactions (script runs) per second that pgbench makes with `clients` connections."""
    url = make_url(database_url)
    command = ["pgbench", "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
               "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "root",
               url.database or "postgres"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(f"pgbench printed no tps: {done.stdout[-2000:]}")

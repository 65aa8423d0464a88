"""Serving the dashboards: what Voilà is told, what its kernels may see, and a read-only role on PostgreSQL.

Every notebook is also run here as Voilà runs it (nbclient, a real kernel), against PostgreSQL signed
in as the read-only role: every section draws, and that role cannot change a thing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import psutil
import psycopg
import pytest
from nbclient import NotebookClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from coop.core.db import grant_read_only
from coop.core.errors import InvalidInput
from dashboards import serve
from tests.demo_db import Demo
from tests.support import free_port

NOTEBOOKS = sorted(serve.NOTEBOOKS.glob("*.ipynb"))
SECRETS = {"KRACHT_STRIPE_API_KEY": "sk_live_secret", "KRACHT_MOLLIE_API_KEY": "live_secret",
           "KRACHT_SMTP_PASSWORD": "smtp-secret", "KRACHT_STRIPE_WEBHOOK_SECRET": "whsec_secret",
           "KRACHT_DATABASE_URL": "postgresql://kracht:apipassword@db/kracht", "AWS_SECRET_ACCESS_KEY": "x"}


def test_voila_binds_locally_strips_sources_culls_idle_kernels_and_keeps_a_spare() -> None:
    command = serve.voila_command(host="127.0.0.1", port=8866)

    assert command[1:4] == ["-m", "voila", str(serve.NOTEBOOKS)]
    assert {"--Voila.ip=127.0.0.1", "--port=8866", "--Voila.port_retries=0", "--strip_sources=True",
            "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
            "--Voila.base_url=/", "--no-browser"} <= set(command)
    assert "--preheat_kernel=True" not in command  # Voilà's own pre-run kernels can hang a request
    assert {"--VoilaConfiguration.multi_kernel_manager_class=dashboards.kernel_pool.SpareKernelManager",
            "--SpareKernelManager.spare_kernels=1", f"--Voila.config_file_paths={serve.RUNTIME}"} <= set(command)
    assert "--SpareKernelManager.spare_kernels=3" in serve.voila_command(host="127.0.0.1", port=8866, spare_kernels=3)


def test_kernels_import_the_dashboards_while_they_start(tmp_path: Path) -> None:
    folder = serve.warm_kernelspec(tmp_path)

    spec = json.loads((folder / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert "--IPKernelApp.exec_lines=import dashboards.page" in spec["argv"]


def test_kernels_get_the_dashboards_database_url_and_none_of_the_secrets() -> None:
    environ = {**SECRETS, "PATH": "/usr/bin", "HOME": "/root", "LC_ALL": "nl_NL.UTF-8", "KRACHT_ENV": "production"}

    env = serve.kernel_environment(environ, database_url="postgresql://kracht_dashboards@db/kracht")

    assert env["KRACHT_DATABASE_URL"] == "postgresql://kracht_dashboards@db/kracht"
    assert {"PATH", "HOME", "LC_ALL", "KRACHT_ENV"} <= set(env)
    assert not {name for name in SECRETS if name != "KRACHT_DATABASE_URL"} & set(env)
    assert not any(secret in value for value in env.values() for secret in ("secret", "apipassword"))


def test_a_relative_sqlite_path_is_made_absolute_for_kernels_that_run_elsewhere(tmp_path: Path) -> None:
    assert serve.absolute_database_url("sqlite:///var/kracht.db", cwd=tmp_path) == \
        f"sqlite:///{(tmp_path / 'var' / 'kracht.db').resolve()}"
    assert serve.absolute_database_url("sqlite:////srv/kracht.db", cwd=tmp_path) == "sqlite:////srv/kracht.db"
    assert serve.absolute_database_url("postgresql://u:p@h/db", cwd=tmp_path) == "postgresql://u:p@h/db"


def test_the_reader_engine_cannot_write(demo: Demo) -> None:
    with Session(demo.reader) as session:
        assert session.execute(text("SELECT count(*) FROM member")).scalar_one() > 0
        with pytest.raises(Exception, match=r"(?i)read.?only|readonly"):
            session.execute(text("UPDATE member SET name = 'x'"))


def test_a_role_is_granted_on_postgresql_only_and_its_name_is_checked_first(demo: Demo) -> None:
    with Session(demo.engine) as session:
        if demo.engine.dialect.name == "sqlite":
            with pytest.raises(InvalidInput, match="PostgreSQL only"):
                grant_read_only(session, role="kracht_dashboards")
        else:
            with pytest.raises(InvalidInput, match="role name"):
                grant_read_only(session, role='x"; DROP TABLE member; --')


@pytest.fixture
def read_only_url(demo: Demo) -> Iterator[str]:
    """A PostgreSQL role made by `grant_read_only` on the demo database, and a URL that signs in as it."""
    role = f"kracht_ro_{uuid.uuid4().hex[:8]}"
    with Session(demo.engine) as session:
        grant_read_only(session, role=role)
        grant_read_only(session, role=role)  # idempotent: running it again after a migration is safe
        session.commit()
    url = make_url(demo.url).set(username=role, password=None)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with Session(demo.engine) as session:
            session.execute(text(f'DROP OWNED BY "{role}"'))
            session.execute(text(f'DROP ROLE "{role}"'))
            session.commit()


@pytest.mark.postgres_only
def test_the_read_only_role_reads_everything_and_changes_nothing(read_only_url: str) -> None:
    with psycopg.connect(make_url(read_only_url).set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM ledger_posting").fetchone()[0] > 0
        for statement in ("INSERT INTO member (id) VALUES (gen_random_uuid())", "DELETE FROM member",
                          "UPDATE payment SET status = 'paid'", "CREATE TABLE stolen (x int)"):
            with pytest.raises(psycopg.Error, match=r"(?i)permission denied|read-only"):
                connection.execute(statement)


def widget_values(notebook: nbformat.NotebookNode) -> list[str]:
    """The text of every HTML widget the notebook left behind (key figures, tables, the status line)."""
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [model["state"]["value"] for model in state.get("state", {}).values()
            if model.get("model_name") == "HTMLModel" and isinstance(model["state"].get("value"), str)]


@pytest.mark.postgres_only
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_page_draws_every_section_as_the_read_only_role(read_only_url: str, path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(serve.NOTEBOOKS)}})

    client.execute(env=serve.kernel_environment(os.environ, database_url=read_only_url))

    values = widget_values(notebook)
    assert any('data-failures="0"' in value for value in values), [v for v in values if "kracht-" in v][:3]
    assert not any("kracht-error" in value for value in values)
    assert any("kracht-kpi" in value for value in values)


def test_notebooks_are_thin() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["finance", "funding", "index", "membership", "socialvalue",
                                           "subscriptions"]
    for notebook_path in NOTEBOOKS:
        code = "\n".join(cell.source for cell in nbformat.read(notebook_path, as_version=4).cells
                         if cell.cell_type == "code")
        imports = {line for line in code.splitlines() if line.startswith(("import ", "from "))}
        assert imports <= {"from dashboards import figures, key_figures, queries",
                           "from dashboards import figures, key_figures", "from dashboards import social_value",
                           "from dashboards.page import Dashboard"}
        for forbidden in ("select(", "execute(", "sqlalchemy", "os.environ", "for ", "go.", "def "):
            assert forbidden not in code, f"{notebook_path.name} does more than wire widgets: {forbidden}"
        assert code.rstrip().endswith("page.show()")


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    """Until something listens on the port (or the process died)."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "the server exited early"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.2)


def test_serve_runs_the_dashboards_beside_the_api_and_stops_them_with_it(sqlite_demo: Demo) -> None:
    api, board = (free_port() for _ in range(2))
    env = {**os.environ, "KRACHT_DATABASE_URL": sqlite_demo.url, "KRACHT_STRIPE_API_KEY": "sk_test_not_for_kernels"}
    process = subprocess.Popen([str(Path(sys.executable).with_name("kracht")), "serve", "--port", str(api),
                                "--dashboards-port", str(board), "--no-worker-thread"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(api, process)
        wait_for_port(board, process)
        assert httpx.get(f"http://127.0.0.1:{api}/healthz").json()["status"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{board}/{serve.INDEX}", timeout=120)
        assert page.status_code == 200 and "Kracht in cijfers" in page.text
        voila = [child for child in psutil.Process(process.pid).children(recursive=True)
                 if "voila" in " ".join(child.cmdline())]
        assert voila and "KRACHT_STRIPE_API_KEY" not in voila[0].environ()
        assert voila[0].environ()["KRACHT_DATABASE_URL"] == sqlite_demo.url
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C, as in `make run`
        output = process.communicate(timeout=60)[0].decode()
    assert f"Dashboards on http://127.0.0.1:{board}/{serve.INDEX}" in output
    _, alive = psutil.wait_procs(voila, timeout=30)
    assert not alive, "the dashboards kept running after the API stopped"

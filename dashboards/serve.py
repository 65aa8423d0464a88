"""Serving the dashboards with Voilà: the command line, and an environment that keeps secrets out of kernels.

Voilà has no login of its own, so it binds to 127.0.0.1 unless told otherwise (README: behind the
API's authentication or a reverse proxy). Its kernels inherit the environment of the Voilà process;
that environment is built here from scratch, with the database URL the dashboards may use and none of
the payment keys, SMTP passwords or other secrets the API needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import make_url
from tornado.web import RequestHandler

NOTEBOOKS = Path(__file__).resolve().parent
RUNTIME = Path(tempfile.gettempdir()) / "kracht-dashboards"  # the kernelspec and Voilà's config file we write
INDEX = "voila/render/index.ipynb"  # below the base URL
# What the kernels may see of the caller's environment (besides the database URL set below).
PASSED_ON = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE",
             "KRACHT_ENV", "KRACHT_LOG_LEVEL", "KRACHT_SQLITE_BUSY_TIMEOUT_MS", "KRACHT_SUBSCRIPTION_GRACE_DAYS")


def absolute_database_url(url: str, *, cwd: Path) -> str:
    """A SQLite URL with an absolute path: the kernels run in the notebooks' folder, not the caller's."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            return parsed.set(database=str((cwd / path).resolve())).render_as_string(hide_password=False)
    return url


def kernel_environment(environ: Mapping[str, str], *, database_url: str) -> dict[str, str]:
    """The Voilà process's environment: the harmless part of `environ` plus the dashboards' database URL."""
    passed = {name: value for name, value in environ.items() if name in PASSED_ON or name.startswith("LC_")}
    return {**passed, "KRACHT_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}


def voila_command(*, host: str, port: int, spare_kernels: int = 1, base_url: str = "/",
                  cull_idle_seconds: int = 600, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Voilà over the notebooks folder (another only for the benchmarks' floor): sources stripped, idle kernels
    culled, spare kernels kept waiting."""
    command = [sys.executable, "-m", "voila", str(notebooks), "--no-browser", f"--port={port}",
               f"--Voila.ip={host}", f"--Voila.base_url={base_url}", "--Voila.port_retries=0",
               "--strip_sources=True",
               "--VoilaConfiguration.show_tracebacks=False",
               f"--MappingKernelManager.cull_idle_timeout={cull_idle_seconds}",
               "--MappingKernelManager.cull_interval=60",
               "--VoilaConfiguration.multi_kernel_manager_class=dashboards.kernel_pool.SpareKernelManager",
               f"--SpareKernelManager.spare_kernels={spare_kernels}",
               f"--Voila.config_file_paths={RUNTIME}"]  # only ours (voila_config), no stray user config
    return command


def warm_kernelspec(folder: Path) -> Path:
    """A `python3` kernel that imports the dashboards while it starts, before Voilà hands it a notebook.

    The imports are the slow part of a kernel's start; a spare kernel (dashboards/kernel_pool.py) has them
    done before the visit, so the notebook runs in a blink.
    """
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.exec_lines=import dashboards.page"],
        "display_name": "Python 3 (Kracht dashboards)", "language": "python"}, indent=1))
    return folder


def set_xsrf_cookie(handler: RequestHandler, notebook: Any, cwd: str) -> None:
    """Voilà's prelaunch hook: give the page the XSRF cookie that Voilà 0.5 never sets (voila#1458).

    Closing a page asks Voilà to shut its kernel down, and Voilà refuses that request without the cookie;
    the kernel then lingered, about 150 MB, until culled ten minutes later.
    """
    handler.xsrf_token  # noqa: B018  (reading the token is what sets the cookie)


def voila_config(folder: Path) -> Path:
    """Voilà's config file (`voila.py`): what cannot be said on its command line, a hook."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "voila.py").write_text("from dashboards.serve import set_xsrf_cookie\n\n"
                                     "c.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie\n")
    return folder


def voila_environment(database_url: str) -> dict[str, str]:
    """The child's environment, built from ours (the one deliberate read of os.environ outside the settings)."""
    env = kernel_environment(os.environ, database_url=absolute_database_url(database_url, cwd=Path.cwd()))
    voila_config(RUNTIME)
    env["JUPYTER_PATH"] = str(warm_kernelspec(RUNTIME))
    return env


def start(*, host: str, port: int, database_url: str, spare_kernels: int = 1) -> subprocess.Popen[bytes]:
    """Start Voilà beside the API (the caller stops it: SIGTERM shuts its kernels down)."""
    return subprocess.Popen(voila_command(host=host, port=port, spare_kernels=spare_kernels),  # noqa: S603  (our own argv)
                            cwd=NOTEBOOKS, env=voila_environment(database_url))


def replace_process(*, host: str, port: int, database_url: str, spare_kernels: int = 1,
                    base_url: str = "/") -> NoReturn:
    """Become Voilà (`kracht dashboards`): signals reach it directly, so stopping it stops its kernels too."""
    env = voila_environment(database_url)
    os.chdir(NOTEBOOKS)
    os.execve(sys.executable, voila_command(host=host, port=port, spare_kernels=spare_kernels, base_url=base_url),  # noqa: S606
              env)

"""Spare kernels for Voilà: each page visit takes a kernel that has started and imported the dashboards.

A kernel's start and its imports take about two seconds on two cores, longer than the whole page should
take. Voilà's own `--preheat_kernel` also runs the notebook in advance, and with Voilà 0.5 a request that
takes such a kernel while it is still running now and then never finishes (README). Spares run nothing
of the notebook: the visit runs it, so what the page shows is read at the visit, never left over from an
earlier one. Voilà loads this class by name (`--VoilaConfiguration.multi_kernel_manager_class`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import ApiPath
from traitlets import Integer, Unicode


class SpareKernelManager(AsyncMappingKernelManager):
    """Keeps `spare_kernels` started kernels of `spare_kernel_name`, hands one to each new page, then refills."""

    spare_kernels = Integer(1, config=True, help="Started kernels kept waiting for the next page visit (0: none).")
    spare_kernel_name = Unicode("python3", config=True, help="The kernel the dashboards' notebooks run on.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._spares: list[asyncio.Task[str]] = []
        asyncio.get_event_loop().call_soon(self._refill)  # ready before the first visit, where Voilà starts

    def _refill(self) -> None:
        """Start kernels until `spare_kernels` are starting or waiting."""
        while len(self._spares) < self.spare_kernels:
            self._spares.append(asyncio.ensure_future(self._start_spare()))

    async def _start_spare(self) -> str:
        """A kernel in the notebooks' folder (Voilà's root) with Voilà's own environment, none of a request's."""
        return await super().start_kernel(kernel_name=self.spare_kernel_name, path=ApiPath(""))

    # The async manager's start_kernel and shutdown_all are coroutines where their synchronous base's are not.
    async def start_kernel(self, *, kernel_id: str | None = None,  # type: ignore[override]
                           path: ApiPath | None = None, **kwargs: Any) -> str:
        """A waiting spare for a new page in the notebooks' folder, if it is alive; else a kernel started now."""
        wanted = kwargs.get("kernel_name", self.spare_kernel_name) == self.spare_kernel_name
        if kernel_id is None and not path and wanted and self._spares:
            spare = self._spares.pop(0)
            self._refill()
            taken = await self._alive(spare)
            if taken is not None:
                self.log.info("Using spare kernel %s for a page visit", taken)
                return taken
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    async def _alive(self, spare: asyncio.Task[str]) -> str | None:
        """The spare's kernel once it has started, or None when it failed to start or has died since."""
        try:
            kernel_id = await spare
        except Exception:
            self.log.exception("a spare dashboard kernel failed to start")
            return None
        if await ensure_async(self.get_kernel(kernel_id).is_alive()):
            return kernel_id
        await self.shutdown_kernel(kernel_id, now=True)
        return None

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Never cull a spare for waiting: waiting is its job."""
        waiting = {spare.result() for spare in self._spares
                   if spare.done() and not spare.cancelled() and spare.exception() is None}
        if kernel_id not in waiting:
            await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]
        """Let spares that are still starting finish, so that shutting down reaches them too."""
        starting = [spare for spare in self._spares if not spare.done()]
        self.spare_kernels = 0
        if starting:
            await asyncio.gather(*starting, return_exceptions=True)
        await super().shutdown_all(now=now)

"""Spare kernels for the dashboards: real kernels started, handed out, replaced, spared from culling, stopped."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import psutil

from dashboards.kernel_pool import SpareKernelManager

Scenario = Callable[[SpareKernelManager], Awaitable[None]]


def run_with_spares(tmp_path: Path, scenario: Scenario, *, spares: int = 1) -> None:
    """Run `scenario` against a manager over `tmp_path`, then shut it down and prove no kernel is left."""

    async def main() -> None:
        manager = SpareKernelManager(root_dir=str(tmp_path), connection_dir=str(tmp_path), spare_kernels=spares)
        try:
            await scenario(manager)
        finally:
            processes = [psutil.Process(pid) for pid in await kernel_pids(manager)]
            await manager.shutdown_all(now=True)
            assert manager.list_kernel_ids() == []
            _, alive = psutil.wait_procs(processes, timeout=30)
            assert not alive, f"kernels left running: {alive}"

    asyncio.run(main())


async def kernel_pids(manager: SpareKernelManager) -> list[int]:
    """The process ids of every kernel the manager holds."""
    return [manager.get_kernel(kernel_id).provisioner.pid for kernel_id in manager.list_kernel_ids()]


async def started(manager: SpareKernelManager, count: int) -> list[str]:
    """Wait until the manager holds `count` started kernels; their ids."""
    for _ in range(600):
        if len(manager.list_kernel_ids()) >= count:
            return manager.list_kernel_ids()
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {manager.list_kernel_ids()} of {count} kernels started")


def test_a_visit_takes_the_waiting_spare_and_another_one_starts(tmp_path: Path) -> None:
    async def scenario(manager: SpareKernelManager) -> None:
        [spare] = await started(manager, 1)

        taken = await manager.start_kernel(kernel_name="python3", path="")

        assert taken == spare
        assert set(await started(manager, 2)) > {spare}  # the next visit's spare
        assert await manager.get_kernel(taken).is_alive()

    run_with_spares(tmp_path, scenario)


def test_a_spare_that_died_is_not_handed_out(tmp_path: Path) -> None:
    async def scenario(manager: SpareKernelManager) -> None:
        [spare] = await started(manager, 1)
        os.kill(manager.get_kernel(spare).provisioner.pid, signal.SIGKILL)
        await asyncio.sleep(0.5)

        taken = await manager.start_kernel(kernel_name="python3", path="")

        assert taken != spare
        assert spare not in manager.list_kernel_ids()
        assert await manager.get_kernel(taken).is_alive()

    run_with_spares(tmp_path, scenario)


def test_a_kernel_for_another_folder_or_language_starts_fresh(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()

    async def scenario(manager: SpareKernelManager) -> None:
        [spare] = await started(manager, 1)

        other = await manager.start_kernel(kernel_name="python3", path="elsewhere")

        assert other != spare
        assert spare in manager.list_kernel_ids()  # still waiting for a dashboard page

    run_with_spares(tmp_path, scenario)


def test_waiting_spares_are_never_culled_and_kernels_in_use_are(tmp_path: Path) -> None:
    async def scenario(manager: SpareKernelManager) -> None:
        manager.cull_idle_timeout = 1
        [first] = await started(manager, 1)
        in_use = await manager.start_kernel(kernel_name="python3", path="")
        second = next(kernel for kernel in await started(manager, 2) if kernel != in_use)
        for kernel_id in (in_use, second):
            manager.get_kernel(kernel_id).last_activity -= timedelta(hours=1)
            manager.get_kernel(kernel_id).execution_state = "idle"

        await manager.cull_kernel_if_idle(second)
        await manager.cull_kernel_if_idle(in_use)

        assert in_use == first
        assert manager.list_kernel_ids() == [second]

    run_with_spares(tmp_path, scenario)


def test_no_spares_means_every_visit_starts_its_own(tmp_path: Path) -> None:
    async def scenario(manager: SpareKernelManager) -> None:
        await asyncio.sleep(0.2)
        assert manager.list_kernel_ids() == []

        taken = await manager.start_kernel(kernel_name="python3", path="")

        assert manager.list_kernel_ids() == [taken]

    run_with_spares(tmp_path, scenario, spares=0)

"""Two board members approve the same grant at the same moment on PostgreSQL: it is approved once, and its money
is reserved once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.core.errors import Conflict
from coop.ledger.chart import AccountCode
from coop.ledger.queries import global_sums
from coop.ledger.schemas import Line
from coop.ledger.service import post
from funding.funds.grants import approve_grant
from funding.funds.models import Fund, FundKind, Grant, GrantStatus
from funding.funds.queries import available_cents, reserved_cents
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from tests.conftest import empty_postgres_database, migrate

BOARD = [CurrentUser(id=uuid.uuid4(), email=f"bestuur{n}@example.org", roles=frozenset({Role.BOARD}))
         for n in range(2)]


@pytest.mark.postgres_only
def test_two_board_members_approving_at_once_approve_once(database) -> None:
    with empty_postgres_database("kracht_grants") as url:
        engine = migrate(url)
        try:
            today = today_amsterdam()
            with unit_of_work(engine) as setup:
                fund = Fund(name="Stichting Buurtkracht", kind=FundKind.FOUNDATION)
                project = Project(initiator_id=uuid.uuid4(), title="Buurtkeuken", summary="Samen koken",
                                  municipality_code="GM0344", neighbourhood="Lombok", theme=Theme.VOEDSEL,
                                  goal_cents=100_000, starts_on=today, deadline=today + timedelta(days=20),
                                  funding_model=FundingModel.ALL_OR_NOTHING, status=ProjectStatus.LIVE)
                setup.add_all([fund, project])
                setup.flush()
                post(setup, key=f"test-deposit:{fund.id}", description="Storting",
                     lines=[Line(account=AccountCode.BANK, amount_cents=50_000, fund_id=fund.id),
                            Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-50_000, fund_id=fund.id)])
                grant = Grant(fund_id=fund.id, project_id=project.id, amount_cents=30_000, note="Mooi plan",
                              proposed_by=uuid.uuid4())
                setup.add(grant)
                setup.flush()
                fund_id, grant_id = fund.id, grant.id

            barrier = threading.Barrier(len(BOARD))
            outcomes: list[object] = [None] * len(BOARD)

            def approve(index: int) -> None:
                try:
                    barrier.wait(timeout=30)
                    with unit_of_work(engine) as session:
                        outcomes[index] = approve_grant(session, grant_id=grant_id, user=BOARD[index]).status
                except Exception as error:
                    outcomes[index] = error

            threads = [threading.Thread(target=approve, args=(n,)) for n in range(len(BOARD))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert sorted(map(type, outcomes), key=str) == sorted([GrantStatus, Conflict], key=str), outcomes
            with unit_of_work(engine) as session:
                assert session.get(Grant, grant_id).status is GrantStatus.APPROVED
                assert (available_cents(session, fund_id=fund_id), reserved_cents(session, fund_id=fund_id)) == (
                    20_000, 30_000)
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

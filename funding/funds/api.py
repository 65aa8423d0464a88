"""Gift funds: create and manage (fund managers, board), deposits (treasurer), donations (public)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from coop.core.http import rate_limited
from coop.core.idempotency import IdempotencyDep
from coop.payments.schemas import PaymentPublic
from funding.funds import grants, service, views
from funding.funds import matching as _matching  # noqa: F401  (matches follow pledges from the first request on)
from funding.funds.queries import grants_of, list_funds
from funding.funds.schemas import (
    DepositIn,
    DepositOut,
    DonationCreated,
    DonationIn,
    DonationPublic,
    FundIn,
    FundPatch,
    FundPublic,
    FundStatement,
    GrantDecisionIn,
    GrantIn,
    GrantPublic,
    MatchRuleIn,
    MatchRulePublic,
)

router = APIRouter(tags=["funds"])
Treasurer = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER))]


@router.post("/funds", response_model=FundPublic, status_code=status.HTTP_201_CREATED)
def create(session: SessionDep, user: CurrentUserDep, body: FundIn) -> FundPublic:
    """A new fund (board, or a fund manager who then manages it)."""
    fund = service.create_fund(session, data=body, creator=user)
    return views.describe_fund(session, fund_id=fund.id)


@router.patch("/funds/{fund_id}", response_model=FundPublic)
def update(session: SessionDep, user: CurrentUserDep, fund_id: uuid.UUID, body: FundPatch) -> FundPublic:
    """Change a fund or add managers (its managers or the board)."""
    service.update_fund(session, fund_id=fund_id, data=body, user=user)
    return views.describe_fund(session, fund_id=fund_id)


@router.get("/funds", response_model=list[FundPublic])
def funds(session: SessionDep) -> list[FundPublic]:
    """Every fund with its balances and rules (public: funds account for what they give)."""
    return [views.describe_fund(session, fund_id=fund.id) for fund in list_funds(session)]


@router.get("/funds/{fund_id}", response_model=FundPublic)
def fund(session: SessionDep, fund_id: uuid.UUID) -> FundPublic:
    """One fund with its balances and rules."""
    return views.describe_fund(session, fund_id=fund_id)


@router.post("/funds/{fund_id}/deposits", response_model=DepositOut, status_code=status.HTTP_201_CREATED)
def deposit(session: SessionDep, user: Treasurer, fund_id: uuid.UUID, body: DepositIn) -> DepositOut:
    """The treasurer records the fund's transfer seen on the bank statement."""
    made = service.record_deposit(session, fund_id=fund_id, data=body, by=user.id)
    return DepositOut(id=made.id, fund_id=made.fund_id, amount_cents=made.amount_cents, reference=made.reference,
                      booked_on=made.booked_on,
                      available_cents=views.describe_fund(session, fund_id=fund_id).available_cents)


@router.post("/funds/{fund_id}/donations", response_model=DonationCreated, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(rate_limited("donation"))])
def donate(session: SessionDep, fund_id: uuid.UUID, body: DonationIn, idem: IdempotencyDep) -> DonationCreated:
    """Give to a fund (no account needed); returns the payment to complete."""

    def work() -> DonationCreated:
        donation, payment = service.donate(session, fund_id=fund_id, data=body)
        return DonationCreated(donation=DonationPublic.model_validate(donation, from_attributes=True),
                               payment=PaymentPublic.of(payment))

    return idem.run(body, work, DonationCreated)


@router.post("/funds/{fund_id}/match-rules", response_model=MatchRulePublic, status_code=status.HTTP_201_CREATED)
def add_rule(session: SessionDep, user: CurrentUserDep, fund_id: uuid.UUID, body: MatchRuleIn) -> MatchRulePublic:
    """A matchfunding rule (the fund's managers or the board)."""
    rule = service.add_match_rule(session, fund_id=fund_id, data=body, user=user)
    return views.rule_public(session, rule=rule)


@router.post("/match-rules/{rule_id}/deactivate", response_model=MatchRulePublic)
def deactivate_rule(session: SessionDep, user: CurrentUserDep, rule_id: uuid.UUID) -> MatchRulePublic:
    """Stop a rule matching new pledges (the fund's managers or the board)."""
    return views.rule_public(session, rule=service.deactivate_match_rule(session, rule_id=rule_id, user=user))


def _grant(grant: object) -> GrantPublic:
    """The API shape of a grant."""
    return GrantPublic.model_validate(grant, from_attributes=True)


@router.post("/funds/{fund_id}/grants", response_model=GrantPublic, status_code=status.HTTP_201_CREATED)
def propose(session: SessionDep, user: CurrentUserDep, fund_id: uuid.UUID, body: GrantIn) -> GrantPublic:
    """A fund manager (or the board) proposes a grant; someone else decides."""
    return _grant(grants.propose_grant(session, fund_id=fund_id, data=body, user=user))


@router.get("/funds/{fund_id}/grants", response_model=list[GrantPublic])
def fund_grants(session: SessionDep, fund_id: uuid.UUID) -> list[GrantPublic]:
    """A fund's grants (public: funds account for what they give)."""
    return [_grant(grant) for grant in grants_of(session, fund_id=service.get_fund(session, fund_id=fund_id).id)]


@router.post("/grants/{grant_id}/approve", response_model=GrantPublic)
def approve(session: SessionDep, user: CurrentUserDep, grant_id: uuid.UUID) -> GrantPublic:
    """Four eyes: another manager of the fund or a board member approves, and the money is reserved."""
    return _grant(grants.approve_grant(session, grant_id=grant_id, user=user))


@router.post("/grants/{grant_id}/reject", response_model=GrantPublic)
def reject(session: SessionDep, user: CurrentUserDep, grant_id: uuid.UUID, body: GrantDecisionIn) -> GrantPublic:
    """Four eyes: another manager of the fund or a board member rejects, saying why."""
    return _grant(grants.reject_grant(session, grant_id=grant_id, user=user, reason=body.reason))


@router.get("/funds/{fund_id}/statement", response_model=FundStatement)
def fund_statement(session: SessionDep, user: CurrentUserDep, fund_id: uuid.UUID,
                   start: Annotated[date, Query(alias="from")],
                   end: Annotated[date, Query(alias="to")]) -> FundStatement:
    """Opening balance, deposits, donations, matches, grants and releases, closing balance (the fund's managers,
    board, treasurer): reconciled to the ledger."""
    return views.statement(session, fund_id=fund_id, start=start, end=end, reader=user)

"""What the API shows of a fund: balances from the ledger and its rules with what they matched."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.errors import InvalidInput
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from funding.funds.models import MatchRule
from funding.funds.queries import available_cents, fund_movements, matched_by_rule, reserved_cents, rules_of
from funding.funds.schemas import Balances, FundPublic, FundStatement, MatchRulePublic, StatementLine
from funding.funds.service import ensure_fund_manager, get_fund


def rule_public(session: Session, *, rule: MatchRule) -> MatchRulePublic:
    """A rule as the API shows it, with what it matched so far."""
    return MatchRulePublic.model_validate({
        **rule.model_dump(), "matched_cents": matched_by_rule(session, rule_id=rule.id)[0],
        "threshold_percent": rule.threshold_bp // 100 if rule.threshold_bp else None})


def describe_fund(session: Session, *, fund_id: uuid.UUID) -> FundPublic:
    """A fund with its available and reserved money and its rules."""
    fund = get_fund(session, fund_id=fund_id)
    rules = [rule_public(session, rule=rule) for rule in rules_of(session, fund_id=fund.id)]
    return FundPublic(id=fund.id, name=fund.name, kind=fund.kind, description=fund.description,
                      municipality_codes=fund.municipality_codes, themes=fund.themes,
                      available_cents=available_cents(session, fund_id=fund.id),
                      reserved_cents=reserved_cents(session, fund_id=fund.id), rules=rules)


KINDS = {"fund_deposit": "deposits", "payment": "donations", "fund_match": "matches", "fund_grant": "grants"}


def _balances(session: Session, fund_id: uuid.UUID, at: date) -> Balances:
    """The fund's balances at the end of `at` (liabilities shown positive)."""
    available = -balance(session, account=AccountCode.FUNDS_AVAILABLE, fund_id=fund_id, project_id=None, at=at)
    reserved = -balance(session, account=AccountCode.FUNDS_RESERVED, fund_id=fund_id, at=at)
    return Balances(available_cents=available, reserved_cents=reserved, total_cents=available + reserved)


def statement(session: Session, *, fund_id: uuid.UUID, start: date, end: date,
              reader: CurrentUser) -> FundStatement:
    """The fund's statement over [start, end], from the ledger: opening + lines = closing, checked."""
    fund = get_fund(session, fund_id=fund_id)
    if not reader.has_any(Role.TREASURER):
        ensure_fund_manager(session, fund=fund, user=reader)
    if end < start:
        raise InvalidInput("the period ends before it starts", field="to")
    by_kind: dict[str, dict[str, int]] = {}
    for source, code, cents in fund_movements(session, fund_id=fund.id, start=start, end=end):
        column = "available_cents" if code == AccountCode.FUNDS_AVAILABLE else "reserved_cents"
        kind = by_kind.setdefault(KINDS.get(source, "corrections"), {"available_cents": 0, "reserved_cents": 0})
        kind[column] -= cents
    lines = [StatementLine(kind=kind, **amounts) for kind, amounts in sorted(by_kind.items())]
    opening = _balances(session, fund.id, start - timedelta(days=1))
    closing = _balances(session, fund.id, end)
    reconciles = (opening.available_cents + sum(line.available_cents for line in lines) == closing.available_cents
                  and opening.reserved_cents + sum(line.reserved_cents for line in lines) == closing.reserved_cents)
    return FundStatement(fund_id=fund.id, start=start, end=end, opening=opening, lines=lines, closing=closing,
                         reconciles=reconciles)

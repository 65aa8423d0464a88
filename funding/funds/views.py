"""What the API shows of a fund: balances from the ledger and its rules with what they matched."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.errors import InvalidInput
from funding.funds.models import MatchRule
from funding.funds.queries import available_cents, fund_statement, matched_by_rule, reserved_cents, rules_of
from funding.funds.schemas import FundPublic, FundStatement, MatchRulePublic
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


def statement(session: Session, *, fund_id: uuid.UUID, start: date, end: date,
              reader: CurrentUser) -> FundStatement:
    """The fund's statement over [start, end] for one of its managers, the board or a treasurer."""
    fund = get_fund(session, fund_id=fund_id)
    if not reader.has_any(Role.TREASURER):
        ensure_fund_manager(session, fund=fund, user=reader)
    if end < start:
        raise InvalidInput("the period ends before it starts", field="to")
    return fund_statement(session, fund_id=fund.id, start=start, end=end)

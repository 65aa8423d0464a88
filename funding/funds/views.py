"""What the API shows of a fund: balances from the ledger and its rules with what they matched."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from funding.funds.queries import available_cents, matched_by_rule, reserved_cents, rules_of
from funding.funds.schemas import FundPublic, MatchRulePublic
from funding.funds.service import get_fund


def describe_fund(session: Session, *, fund_id: uuid.UUID) -> FundPublic:
    """A fund with its available and reserved money and its rules."""
    fund = get_fund(session, fund_id=fund_id)
    rules = [MatchRulePublic.model_validate({**rule.model_dump(), "matched_cents": matched_by_rule(
        session, rule_id=rule.id)[0]}) for rule in rules_of(session, fund_id=fund.id)]
    return FundPublic(id=fund.id, name=fund.name, kind=fund.kind, description=fund.description,
                      municipality_codes=fund.municipality_codes, themes=fund.themes,
                      available_cents=available_cents(session, fund_id=fund.id),
                      reserved_cents=reserved_cents(session, fund_id=fund.id), rules=rules)

"""Matchfunding: when a pledge to a live project is paid, each eligible rule reserves its match, exactly.

The funds of the rules that may give something are row-locked in id order, and
the match is worked out again under the lock: the budget, the caps and the
fund's available money are read under it, so a reservation can never exceed
them (the ledger's no-overdraft check on 2300 is the last guard). A rule that a
first, lock-free look finds giving nothing even if its threshold were reached
(the pledger had their match, the lump sum was paid, the budget or a cap is
spent, the fund is empty) takes no lock: another pledge paid meanwhile can only
use up more of it (money given back or donated meanwhile goes to the pledges
after this one, as if it had been paid a moment earlier). That keeps the pledges
of a campaign whose matches are spent from queueing on the fund's row.
Rules apply oldest first; each explains the amount it chose.
A match is released when its pledge's money goes back or the project fails,
and becomes payable to the project when it succeeds.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from coop.core.clock import today_amsterdam, utc_now
from coop.core.db import get_row
from coop.core.money import apply_basis_points, format_eur
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from funding.funds.grants import reject_grant_at_close, settle_grant
from funding.funds.models import Fund, GrantStatus, Match, MatchRule, MatchStatus
from funding.funds.queries import (
    available_cents,
    condition_met,
    granted_per_project,
    grants_of,
    matched_per_project,
    matches_of,
    rule_use,
    rules_of,
)
from funding.funds.service import donate_failed_pledge, funds_by_id, get_fund
from funding.pledges.models import Pledge, PledgeKind
from funding.pledges.queries import progress, register_contribution
from funding.pledges.service import PledgeListener, listen_to_pledges
from funding.projects.models import Project


def eligible(rule: MatchRule, fund: Fund, project: Project, on: date) -> bool:
    """The rule (and its fund) covers the project's theme and municipality, and is active on `on`."""
    for themes, codes in ((rule.themes, rule.municipality_codes), (fund.themes, fund.municipality_codes)):
        if themes and project.theme.value not in themes:
            return False
        if codes and project.municipality_code not in codes:
            return False
    return rule.active and (rule.starts_on is None or rule.starts_on <= on) and (
        rule.ends_on is None or on <= rule.ends_on)


def match_pledge(session: Session, *, pledge: Pledge, project: Project) -> list[Match]:
    """Reserve every eligible rule's match of a paid money pledge (once per rule and pledge)."""
    if pledge.kind is not PledgeKind.MONEY or not pledge.amount_cents:
        return []
    today = today_amsterdam()
    # The pledge is row-locked (its "paid" takes it so), and only its "paid" matches it: what it was matched
    # by stays as read here until the commit.
    matched = {match.rule_id for match in matches_of(session, pledge_id=pledge.id, statuses=list(MatchStatus))}
    rules = [rule for rule in rules_of(session, active_only=True) if rule.id not in matched]
    funds = funds_by_id(session, {rule.fund_id for rule in rules})
    applying = [rule for rule in rules if eligible(rule, funds[rule.fund_id], project, today)
                and _offer(session, rule, pledge, project, optimistic=True) is not None]
    for fund_id in sorted({rule.fund_id for rule in applying}):
        get_fund(session, fund_id=fund_id, for_update=True)  # in id order: no deadlock between pledges
    made = []
    for rule in applying:
        offer = _offer(session, rule, pledge, project)  # again, under the lock
        if offer is not None:
            made.append(_reserve(session, rule, pledge, project, *offer))
    return made


def _offer(session: Session, rule: MatchRule, pledge: Pledge, project: Project, *,
           optimistic: bool = False) -> tuple[int, str] | None:
    """One rule's match (cents, explanation), capped by the pledge cap, the project cap, the budget, the pledger
    limit and the fund; None when it gives nothing. `optimistic`: as if its threshold were reached (the most it
    could give, for the look before the lock: another pledge paid meanwhile may reach the threshold)."""
    amount = pledge.amount_cents or 0
    used = rule_use(session, rule_id=rule.id, project_id=project.id, email=pledge.email)
    if rule.lump_sum_cents is not None:
        if used.on_project_count or not (optimistic or _threshold_reached(session, rule, project)):
            return None
        wanted = (rule.lump_sum_cents, f"{format_eur(rule.lump_sum_cents)} bij {(rule.threshold_bp or 0) // 100}% "
                                       f"van het doel en {rule.min_backers or 0} steunbetuigingen")
    elif used.by_pledger_count >= rule.pledges_per_pledger:
        return None
    else:
        wanted = (min(apply_basis_points(amount, rule.ratio_bp), rule.cap_per_pledge_cents),
                  f"{rule.ratio_bp / 100:g}% van {format_eur(amount)}"
                  + (f" (maximum per bijdrage {format_eur(rule.cap_per_pledge_cents)})"
                     if apply_basis_points(amount, rule.ratio_bp) > rule.cap_per_pledge_cents else ""))
    limits = [
        wanted,
        (rule.cap_per_project_cents - used.on_project_cents,
         f"maximum per project {format_eur(rule.cap_per_project_cents)}"),
        (rule.budget_cents - used.cents, f"budget {format_eur(rule.budget_cents)}"),
        (available_cents(session, fund_id=rule.fund_id), "beschikbaar in het fonds"),
    ]
    cents, reason = min(limits, key=lambda limit: limit[0])
    if cents <= 0:
        return None
    return cents, f"{limits[0][1]}" + (f", begrensd door {reason}" if reason != limits[0][1] else "")


def _reserve(session: Session, rule: MatchRule, pledge: Pledge, project: Project, cents: int,
             explanation: str) -> Match:
    """Book a match worked out under the fund's lock: 2300 -> 2310 for the project."""
    match = Match(rule_id=rule.id, fund_id=rule.fund_id, pledge_id=pledge.id, project_id=project.id,
                  pledger_email=pledge.email, amount_cents=cents, explanation=explanation[:500])
    session.add(match)
    session.flush()
    post(session, key=f"match:{match.id}:reserve", source_type="fund_match", source_id=str(match.id),
         description=f"Verdubbeling {project.title}: {explanation}"[:255],
         lines=[Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=cents, fund_id=rule.fund_id),
                Line(account=AccountCode.FUNDS_RESERVED, amount_cents=-cents, fund_id=rule.fund_id,
                     project_id=project.id)])
    return match


def _threshold_reached(session: Session, rule: MatchRule, project: Project) -> bool:
    """The crowd has paid the rule's share of the money goal, with enough backers."""
    crowd = progress(session, project_ids=[project.id])[project.id]
    return (crowd.paid_cents * 10_000 >= project.goal_cents * (rule.threshold_bp or 0)
            and crowd.backers >= (rule.min_backers or 0))


def settle(session: Session, *, match: Match, to: MatchStatus) -> None:
    """A reserved match becomes payable to the project (2310 -> 2400) or goes back to the fund (2310 -> 2300);
    a payable one whose pledge went back returns from 2400 to the fund."""
    if match.status is to or match.status is MatchStatus.RELEASED:
        return
    source = AccountCode.FUNDS_RESERVED if match.status is MatchStatus.RESERVED else AccountCode.PAYABLE_TO_PROJECTS
    source_fund = match.fund_id if source is AccountCode.FUNDS_RESERVED else None
    target = Line(account=AccountCode.PAYABLE_TO_PROJECTS, amount_cents=-match.amount_cents,
                  project_id=match.project_id) if to is MatchStatus.PAYABLE else Line(
        account=AccountCode.FUNDS_AVAILABLE, amount_cents=-match.amount_cents, fund_id=match.fund_id)
    post(session, key=f"match:{match.id}:{to.value}", source_type="fund_match", source_id=str(match.id),
         description=f"Verdubbeling {to.value}"[:255],
         lines=[Line(account=source, amount_cents=match.amount_cents, fund_id=source_fund,
                     project_id=match.project_id), target])
    match.status, match.settled_at = to, utc_now()
    session.add(match)
    session.flush()


class MatchingListener(PledgeListener):
    """Matches follow their pledges and projects."""

    def on_paid(self, session: Session, pledge: Pledge, project: Project) -> None:
        """Reserve the matches of a newly paid pledge."""
        match_pledge(session, pledge=pledge, project=project)

    def on_money_back(self, session: Session, pledge: Pledge, project: Project) -> None:
        """A pledge that went back takes its matches with it."""
        for match in matches_of(session, pledge_id=pledge.id):
            settle(session, match=match, to=MatchStatus.RELEASED)

    def on_closed(self, session: Session, project: Project, *, succeeded: bool) -> None:
        """Success makes the matches (and the grants whose condition was met) payable to the project; failure
        returns them to their funds."""
        for match in matches_of(session, project_id=project.id, statuses=[MatchStatus.RESERVED]):
            settle(session, match=match, to=MatchStatus.PAYABLE if succeeded else MatchStatus.RELEASED)
        crowd = progress(session, project_ids=[project.id])[project.id]
        for grant in grants_of(session, project_id=project.id, statuses=[GrantStatus.APPROVED]):
            settle_grant(session, grant=grant, project=project, payable=succeeded and condition_met(grant, crowd))
        for grant in grants_of(session, project_id=project.id, statuses=[GrantStatus.PROPOSED]):
            reject_grant_at_close(session, grant=grant)

    def take_over(self, session: Session, pledge: Pledge, project: Project) -> bool:
        """A failed project's pledge whose pledger chose a fund goes there (2200 -> 2300), with a receipt."""
        fund_id = pledge.fund_id or project.default_fund_id
        fund = get_row(session, Fund, fund_id) if fund_id else None
        if fund is None:
            return False
        donate_failed_pledge(session, pledge=pledge, project=project, fund=fund)
        return True


listen_to_pledges(MatchingListener())
register_contribution("matched_cents", matched_per_project)
register_contribution("granted_cents", granted_per_project)


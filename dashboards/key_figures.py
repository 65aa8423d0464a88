"""The headline numbers at the top of each page, from the same queries as the charts beneath them."""

from __future__ import annotations

from sqlmodel import Session

from coop.ledger.chart import AccountCode
from dashboards import labels
from dashboards.figures import KeyFigure
from dashboards.queries import (
    CLEARING,
    EVERYTHING,
    Period,
    Selection,
    books,
    fund_balances,
    joins_and_leavers,
    live_projects,
    members_by_status,
    money_flows,
    recurring_revenue_over_time,
    share_capital_over_time,
    subscriptions_by_status,
)

FILTERED_NOTE = "hele coöperatie (niet te filteren)"


def membership(session: Session, period: Period, selection: Selection = EVERYTHING) -> list[KeyFigure]:
    """Members now, who came and went in the period, and the share capital at its end."""
    statuses = members_by_status(session, period.end, selection)
    members = statuses.get("active", 0) + statuses.get("resigning", 0)
    moves = joins_and_leavers(session, period, selection)
    capital = share_capital_over_time(session, period, selection).last("capital")
    return [KeyFigure("members", f"Leden op {labels.day(period.end)}", labels.number(members), members),
            KeyFigure("joined", "Nieuwe leden in de periode", labels.number(moves.total("joined")),
                      moves.total("joined")),
            KeyFigure("left", "Vertrokken in de periode", labels.number(moves.total("left")), moves.total("left")),
            KeyFigure("share_capital", f"Ledenkapitaal op {labels.day(period.end)}", labels.euros(capital), capital)]


def subscriptions(session: Session, period: Period, selection: Selection = EVERYTHING, *,
                  grace_days: int) -> list[KeyFigure]:
    """Active and past-due subscriptions at the end, their yearly value, and the revenue the ledger booked."""
    counts = subscriptions_by_status(session, period.end, grace_days=grace_days, selection=selection)
    active = sum(n for (_, status), n in counts.items() if status == "active")
    overdue = sum(n for (_, status), n in counts.items() if status == "past_due")
    yearly = sum(values[-1] for values in recurring_revenue_over_time(session, period, selection).groups.values())
    revenue = next((row.credit_cents - row.debit_cents for row in books(session, period).accounts
                    if row.code == AccountCode.SUBSCRIPTION_REVENUE), 0)
    filtered = selection != EVERYTHING
    return [KeyFigure("active_subscriptions", f"Actieve abonnementen op {labels.day(period.end)}",
                      labels.number(active), active),
            KeyFigure("recurring_revenue", "Jaarlijks terugkerend (incl. btw)", labels.euros(yearly), yearly),
            KeyFigure("subscription_revenue", "Contributie-opbrengst in de periode (8000)", labels.euros(revenue),
                      revenue, FILTERED_NOTE if filtered else ""),
            KeyFigure("past_due", "Achterstallig", labels.number(overdue), overdue)]


def funding(session: Session, period: Period, selection: Selection = EVERYTHING) -> list[KeyFigure]:
    """What the crowd and the funds put in during the period, live projects, and the funds' money at its end."""
    raised = sum(link.cents for link in money_flows(session, period, selection)
                 if link.target in ("Bijdragen", "Verdubbeling", "Giften"))
    live = len(live_projects(session, selection, limit=10_000))
    funds = fund_balances(session, period.end)
    available = sum(f.available_cents for f in funds)
    reserved = sum(f.reserved_cents for f in funds)
    return [KeyFigure("raised", "Voor projecten opgehaald in de periode", labels.euros(raised), raised),
            KeyFigure("live_projects", "Lopende projecten", labels.number(live), live),
            KeyFigure("funds_available", f"Fondsen beschikbaar op {labels.day(period.end)}", labels.euros(available),
                      available, FILTERED_NOTE if selection != EVERYTHING else ""),
            KeyFigure("funds_reserved", "Fondsen gereserveerd voor projecten", labels.euros(reserved), reserved)]


def finance(session: Session, period: Period) -> list[KeyFigure]:
    """The balance sheet total, money at hand, what is owed to projects, and the period's result."""
    accounts = books(session, period).accounts
    assets = sum(row.balance_cents for row in accounts if row.type == "asset")
    cash = sum(row.balance_cents for row in accounts if row.code in CLEARING)
    owed = -sum(row.balance_cents for row in accounts if row.code == AccountCode.PAYABLE_TO_PROJECTS)
    result = sum(row.credit_cents - row.debit_cents for row in accounts if row.type in ("revenue", "expense"))
    return [KeyFigure("assets", f"Balanstotaal op {labels.day(period.end)}", labels.euros(assets), assets),
            KeyFigure("cash", "Liquide middelen (bank en betaalrekeningen)", labels.euros(cash), cash),
            KeyFigure("payable_to_projects", "Te betalen aan projecten (2400)", labels.euros(owed), owed),
            KeyFigure("result", "Resultaat in de periode", labels.euros(result), result)]

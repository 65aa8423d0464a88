"""Joining, the membership lifecycle, and the `share_order` payment purpose."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlmodel import Session, col, select

from coop.audit.service import record
from coop.auth.models import Role, User
from coop.auth.schemas import CurrentUser
from coop.auth.service import create_user, user_by_email
from coop.core.clock import AMSTERDAM, today_amsterdam
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.core.sequences import next_number
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.members.models import (
    KVK_REQUIRED,
    Consent,
    ConsentKind,
    FactKind,
    Member,
    MemberKind,
    MembershipFact,
    MemberStatus,
    Representative,
)
from coop.members.queries import status_at
from coop.members.schemas import JoinIn
from coop.notifications.service import notify
from coop.payments.models import Payment
from coop.payments.purposes import PurposeHandler, register_purpose
from coop.payments.service import create_payment
from coop.shares import service as shares
from coop.shares.models import OrderStatus
from coop.shares.queries import class_version, holdings_at

SHARE_ORDER = "share_order"
MEMBER_NUMBER_SERIES = "member_number"
_KVK = re.compile(r"^[0-9]{8}\Z")


def normalise_kvk(kind: MemberKind, kvk_number: str | None) -> str | None:
    """KvK numbers are eight digits (no check digit since 2016); companies must give one, persons none."""
    if kvk_number is None or not kvk_number.strip():
        if kind in KVK_REQUIRED:
            raise InvalidInput(f"a {kind.value} needs its KvK number", field="kvk_number")
        return None
    if kind is MemberKind.PERSON:
        raise InvalidInput("a person has no KvK number", field="kvk_number")
    digits = re.sub(r"[\s.]", "", kvk_number)
    if not _KVK.match(digits):
        raise InvalidInput("a KvK number has eight digits", field="kvk_number")
    return digits


def normalise_iban(iban: str | None, *, field: str = "iban") -> str | None:
    """An IBAN with a valid checksum and bank code, stored compact (schwifty); errors name `field`."""
    if iban is None or not iban.strip():
        return None
    try:
        return str(IBAN(iban).compact)
    except SchwiftyException as error:
        raise InvalidInput(f"not a valid IBAN: {error}", field=field) from None


def get_member(session: Session, *, member_id: uuid.UUID) -> Member:
    """One member, or NotFound."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("no such member", field="member_id")
    return member


def add_fact(session: Session, *, member: Member, kind: FactKind, effective_on: date,
             actor_id: uuid.UUID | None = None, note: str | None = None) -> MembershipFact:
    """Record a dated fact of a membership (audited)."""
    fact = MembershipFact(member_id=member.id, kind=kind, effective_on=effective_on, actor_id=actor_id, note=note)
    session.add(fact)
    session.flush()
    record(session, action=f"member.{kind.value}", object_type="member", object_id=member.id, actor_id=actor_id,
           after={"effective_on": effective_on.isoformat(), "note": note})
    return fact


def join(session: Session, *, data: JoinIn,
         return_url: Callable[[Member], str] | None = None) -> tuple[Member, Payment]:
    """A new applicant with a share order (the required share plus any asked for) and its payment (the payer
    returns to `return_url(member)`, or the generic payment page)."""
    if not data.consent:
        raise InvalidInput("joining needs consent to the statutes, privacy statement and risk notice",
                           field="consent")
    member = Member(kind=data.kind, name=data.name.strip(), email=str(data.email).lower(),
                    kvk_number=normalise_kvk(data.kind, data.kvk_number), iban=normalise_iban(data.iban),
                    phone=data.phone, street=data.street, postcode=data.postcode, city=data.city,
                    municipality_code=data.municipality_code)
    session.add(member)
    session.flush()
    requests = [shares.ShareRequest(class_code=shares.ORDINARY, quantity=1)]
    if data.share_class is not None and data.share_class != shares.ORDINARY:
        requests.append(shares.ShareRequest(class_code=data.share_class, quantity=data.quantity or 1))
    elif data.quantity not in (None, 1):
        raise InvalidInput("a member holds exactly one membership share", field="quantity")
    order = shares.create_order(session, member_id=member.id, member_kind=member.kind.value, requests=requests)
    session.add_all(Consent(member_id=member.id, kind=kind) for kind in ConsentKind)
    add_fact(session, member=member, kind=FactKind.APPLIED, effective_on=today_amsterdam())
    payment = create_payment(session, purpose=SHARE_ORDER, purpose_id=order.id, amount_cents=order.amount_cents,
                             description=shares.order_description(session, order_id=order.id),
                             provider=data.provider, return_url=return_url(member) if return_url else None,
                             payer_email=member.email, payer_name=member.name)
    return member, payment


def activate(session: Session, *, member: Member, effective_on: date) -> None:
    """An applicant becomes a member: the next member number and a welcome, once."""
    if status_at(session, member_id=member.id, at=effective_on) is not MemberStatus.APPLICANT:
        return
    if member.member_number is None:
        member.member_number = next_number(session, series=MEMBER_NUMBER_SERIES)
        session.add(member)
    add_fact(session, member=member, kind=FactKind.ACTIVATED, effective_on=effective_on)
    notify(session, template="welcome", recipient=member.email, member_id=member.id,
           dedupe_key=f"welcome:{member.id}",
           context={"member_name": member.name, "member_number": str(member.member_number)})


class ShareOrderPurpose(PurposeHandler):
    """Paid share orders become capital (0500, member dimension) and shares with certificates."""

    partial_refunds = False

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """Share capital of the ordering member."""
        order = shares.get_order(session, order_id=payment.purpose_id)
        return [Line(account=AccountCode.SHARE_CAPITAL, amount_cents=-amount_cents, member_id=order.member_id)]

    def on_paid(self, session: Session, payment: Payment) -> None:
        """Issue the shares; a first share makes the applicant a member."""
        paid_on = payment.paid_at.astimezone(AMSTERDAM).date() if payment.paid_at else today_amsterdam()
        order = shares.get_order(session, order_id=payment.purpose_id)
        shares.issue_order(session, order_id=order.id, effective_on=paid_on)
        activate(session, member=get_member(session, member_id=order.member_id), effective_on=paid_on)

    def check_refund(self, session: Session, payment: Payment, amount_cents: int) -> None:
        """Only an order whose shares are all still held can be refunded (they are cancelled with it)."""
        held = shares.order_value_held(session, order_id=payment.purpose_id, at=today_amsterdam())
        if held < payment.amount_cents:
            raise Conflict("some of these shares were transferred or redeemed since; refund refused",
                           field="payment_id")

    def money_back_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """Capital only for shares still held and only when all money went back (they are cancelled then).

        Anything else the member received back without giving up shares is a receivable from them (1300).
        """
        order = shares.get_order(session, order_id=payment.purpose_id)
        returned_in_full = payment.refunded_cents + payment.charged_back_cents >= payment.amount_cents
        capital = shares.order_value_held(session, order_id=order.id, at=today_amsterdam()) if returned_in_full else 0
        lines = [Line(account=AccountCode.SHARE_CAPITAL, amount_cents=-capital, member_id=order.member_id)]
        lines.append(Line(account=AccountCode.MEMBER_RECEIVABLES, amount_cents=capital - amount_cents,
                          member_id=order.member_id))
        return [line for line in lines if line.amount_cents != 0]

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        """Money back in full: the shares are cancelled (the register follows the ledger)."""
        if payment.refunded_cents + payment.charged_back_cents >= payment.amount_cents:
            shares.cancel_order(session, order_id=payment.purpose_id, effective_on=today_amsterdam())

    def on_failed(self, session: Session, payment: Payment) -> None:
        """The order lapses; the applicant can try again."""
        if shares.get_order(session, order_id=payment.purpose_id).status is OrderStatus.PENDING:
            shares.fail_order(session, order_id=payment.purpose_id)


register_purpose(SHARE_ORDER, ShareOrderPurpose())


def member_numbers(session: Session, *, member_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Member numbers by id (members without a number are left out)."""
    if not member_ids:
        return {}
    rows = session.exec(select(Member.id, Member.member_number).where(col(Member.id).in_(list(member_ids)))).all()
    return {member_id: number for member_id, number in rows if number is not None}


def resign(session: Session, *, member_id: uuid.UUID, requested_by: uuid.UUID | None,
           effective_on: date | None = None) -> list[shares.ShareMutation]:
    """A member gives notice: resigning now, former from `effective_on`, and every share asked back by then.

    The default end is the end of the notice period of the membership share (in months, at a month's end).
    """
    member = get_member(session, member_id=member_id)
    today = today_amsterdam()
    _require_active(session, member=member, on=today)
    end = effective_on or _end_of_notice(session, today)
    if end < today:
        raise InvalidInput("a resignation cannot take effect in the past", field="effective_on")
    add_fact(session, member=member, kind=FactKind.RESIGNATION_REQUESTED, effective_on=today, actor_id=requested_by)
    add_fact(session, member=member, kind=FactKind.RESIGNED, effective_on=end, actor_id=requested_by)
    return _redeem_everything(session, member=member, on=end, requested_by=requested_by)


def end_membership(session: Session, *, member_id: uuid.UUID, kind: FactKind, effective_on: date,
                   note: str | None, recorded_by: uuid.UUID | None) -> list[shares.ShareMutation]:
    """The board records an expulsion or a death; every share is asked back as of that date."""
    if kind not in (FactKind.EXPELLED, FactKind.DECEASED):
        raise InvalidInput("a membership ends here by expulsion or death", field="reason")
    member = get_member(session, member_id=member_id)
    _require_active(session, member=member, on=effective_on)
    add_fact(session, member=member, kind=kind, effective_on=effective_on, actor_id=recorded_by, note=note)
    return _redeem_everything(session, member=member, on=effective_on, requested_by=recorded_by)


def _require_active(session: Session, *, member: Member, on: date) -> None:
    """Only an active (or resigning) membership can end."""
    if status_at(session, member_id=member.id, at=on) not in (MemberStatus.ACTIVE, MemberStatus.RESIGNING):
        raise Conflict("only an active membership can end", field="member_id")


def _redeem_everything(session: Session, *, member: Member, on: date,
                       requested_by: uuid.UUID | None) -> list[shares.ShareMutation]:
    """Ask back every share the member holds, as of `on` (the board approves each)."""
    return [shares.request_redemption(session, member_id=member.id, class_code=h.class_code, quantity=h.quantity,
                                      requested_by=requested_by, effective_on=on)
            for h in holdings_at(session, at=today_amsterdam()) if h.member_id == member.id]


def _end_of_notice(session: Session, today: date) -> date:
    """The last day of the month in which the membership share's notice period ends."""
    ordinary = class_version(session, code=shares.ORDINARY, at=today)
    months = ordinary.notice_months if ordinary else 0
    year, month = divmod(today.month - 1 + months + 1, 12)
    return date(today.year + year, month + 1, 1) - timedelta(days=1)


def request_transfer(session: Session, *, from_member_id: uuid.UUID, to_member_id: uuid.UUID, class_code: str,
                     quantity: int, requested_by: uuid.UUID | None) -> shares.ShareMutation:
    """Shares to another active member who may hold the class; the board approves later."""
    receiver = get_member(session, member_id=to_member_id)
    get_member(session, member_id=from_member_id)
    if status_at(session, member_id=receiver.id, at=today_amsterdam()) is not MemberStatus.ACTIVE:
        raise InvalidInput("shares can only go to an active member", field="to_member_id")
    return shares.request_transfer(session, from_member_id=from_member_id, to_member_id=receiver.id,
                                   to_member_kind=receiver.kind.value, class_code=class_code, quantity=quantity,
                                   requested_by=requested_by)


def acts_for(session: Session, *, member: Member, user_id: uuid.UUID) -> bool:
    """True for the member's own account and for the representatives of an organisation member."""
    if member.user_id == user_id:
        return True
    return session.exec(select(Representative.id).where(Representative.member_id == member.id,
                                                        Representative.user_id == user_id)).first() is not None


def ensure_may_act(session: Session, *, member: Member, user: CurrentUser, staff: tuple[Role, ...]) -> None:
    """Let through the member (or a representative) and the given staff roles; Forbidden otherwise."""
    if not user.has_any(*staff) and not acts_for(session, member=member, user_id=user.id):
        raise Forbidden("only the member, its representatives or the board can do this")


def ensure_member_access(session: Session, *, member_id: uuid.UUID, user: CurrentUser,
                         staff: tuple[Role, ...]) -> Member:
    """The member, if `user` may act for it (itself, a representative, or one of the `staff` roles)."""
    member = get_member(session, member_id=member_id)
    ensure_may_act(session, member=member, user=user, staff=staff)
    return member


def add_representative(session: Session, *, member_id: uuid.UUID, email: str,
                       actor_id: uuid.UUID | None) -> Representative:
    """Let a user act for an organisation member; an unknown e-mail gets a member account without password."""
    member = get_member(session, member_id=member_id)
    if member.kind is MemberKind.PERSON:
        raise InvalidInput("a person acts for themself; representatives are for organisations", field="member_id")
    user = user_by_email(session, email=email) or create_user(session, email=email, roles=[Role.MEMBER])
    existing = session.exec(select(Representative).where(Representative.member_id == member.id,
                                                         Representative.user_id == user.id)).first()
    if existing is not None:
        return existing
    representative = Representative(member_id=member.id, user_id=user.id, added_by=actor_id)
    session.add(representative)
    session.flush()
    record(session, action="member.representative_added", object_type="member", object_id=member.id,
           actor_id=actor_id, after={"user_id": str(user.id)})
    return representative


def remove_representative(session: Session, *, member_id: uuid.UUID, user_id: uuid.UUID,
                          actor_id: uuid.UUID | None) -> None:
    """Stop a user acting for the member (audited)."""
    found = session.exec(select(Representative).where(Representative.member_id == member_id,
                                                      Representative.user_id == user_id)).first()
    if found is None:
        raise NotFound("this user does not represent this member", field="user_id")
    session.delete(found)
    session.flush()
    record(session, action="member.representative_removed", object_type="member", object_id=member_id,
           actor_id=actor_id, before={"user_id": str(user_id)})


def representatives(session: Session, *, member_id: uuid.UUID) -> list[tuple[Representative, str]]:
    """The representatives of a member with their e-mail addresses."""
    rows = session.exec(select(Representative, User.email).join(User, col(User.id) == col(Representative.user_id))
                        .where(Representative.member_id == member_id).order_by(col(Representative.added_at))).all()
    return [(rep, email) for rep, email in rows]

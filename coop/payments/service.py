"""The payment engine: create, follow the provider's truth through one state machine, book every euro.

Every transition that moves money posts one balanced ledger entry with a
deterministic key in the same transaction, and tells the purpose's handler.
Refunds and chargebacks are derived from the provider's cumulative totals, so a
notification that arrives twice, late or out of order cannot book twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exc
from sqlmodel import Session, col, select

from coop.core.clock import utc_now
from coop.core.db import get_row, row_lock
from coop.core.errors import Conflict, InvalidInput, KrachtError, NotFound
from coop.core.idempotency import add_resumer, finish_on_retry
from coop.core.sequences import next_reference
from coop.core.settings import Settings, get_settings
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.payments.models import (
    Payment,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
    Refund,
    RefundStatus,
)
from coop.payments.providers import PaymentProvider, ProviderError, WebhookRejected
from coop.payments.providers.bank_transfer import BankTransferProvider
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.purposes import handler_for
from coop.payments.schemas import CheckoutRequest, PaymentPublic, ProviderEventData, ProviderSnapshot, Renewal

S = PaymentStatus
CHECKOUT_STEP = "checkout"
ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.OPEN: frozenset({S.PENDING, S.PAID, S.FAILED, S.CANCELED, S.EXPIRED}),
    S.PENDING: frozenset({S.PAID, S.FAILED, S.CANCELED, S.EXPIRED}),
    S.PAID: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
    S.PARTIALLY_REFUNDED: frozenset(),
    S.REFUNDED: frozenset(),
    S.CHARGED_BACK: frozenset(),
}
MONEY_RECEIVED = frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED, S.CHARGED_BACK})
UNSUCCESSFUL = frozenset({S.FAILED, S.CANCELED, S.EXPIRED})


class ProviderUnavailable(KrachtError):
    """The provider did not answer or refused; nothing was changed."""

    status = 502
    title = "Payment provider unavailable"


def online_provider(settings: Settings | None = None) -> ProviderName:
    """The provider the public pages send payers to: Mollie (iDEAL) or Stripe once configured, else the sandbox."""
    settings = settings or get_settings()
    if settings.mollie_api_key is not None:
        return ProviderName.MOLLIE
    if settings.stripe_api_key is not None:
        return ProviderName.STRIPE
    return ProviderName.SANDBOX


def provider_for(session: Session, name: ProviderName, settings: Settings | None = None) -> PaymentProvider:
    """The provider called `name`, if it may be used here (the sandbox never in production)."""
    settings = settings or get_settings()
    if name is ProviderName.SANDBOX:
        if settings.is_production:
            raise InvalidInput("the sandbox provider is refused in production", field="provider")
        return SandboxProvider(session, settings.public_url)
    if name is ProviderName.BANK_TRANSFER:
        if settings.is_production and not settings.coop_iban:
            raise InvalidInput("bank transfers need the cooperative's account (KRACHT_COOP_IBAN)", field="provider")
        return BankTransferProvider(session)
    if name is ProviderName.STRIPE and settings.stripe_api_key is not None:
        from coop.payments.providers.stripe import StripeProvider

        return StripeProvider(settings)
    if name is ProviderName.MOLLIE and settings.mollie_api_key is not None:
        from coop.payments.providers.mollie import MollieProvider

        return MollieProvider(settings)
    raise InvalidInput(f"payment provider {name.value} is not configured", field="provider")


def webhook_provider(session: Session, name: ProviderName) -> Any:
    """The provider a webhook is for; 404 when it is not configured here (so nothing is probed)."""
    try:
        return provider_for(session, name)
    except InvalidInput:
        raise WebhookRejected(f"{name.value} webhooks are not configured", status=404) from None


def _clearing_account(session: Session, payment: Payment) -> str:
    """The asset account where this provider holds our money until payout."""
    return provider_for(session, payment.provider).clearing_account


def create_payment(
    session: Session, *, purpose: str, purpose_id: uuid.UUID, amount_cents: int, description: str,
    provider: ProviderName, return_url: str | None = None, payer_email: str | None = None,
    payer_name: str | None = None, method: str | None = None, recurring: bool = False,
    details: dict[str, Any] | None = None,
) -> Payment:
    """Write the payment (status open), then ask the provider for a checkout keyed on the payment's id.

    When the provider fails, a request made with an Idempotency-Key keeps the payment
    open and finishes its checkout on the retry (same provider key, so never a
    second provider payment); any other caller has everything rolled back.
    """
    handler_for(purpose)
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise InvalidInput("the amount must be a positive number of cents", field="amount_cents")
    settings = get_settings()
    chosen = provider_for(session, provider, settings)
    payment = Payment(
        reference=f"KR{next_reference(session, series='payment_reference'):08d}", purpose=purpose,
        purpose_id=purpose_id, amount_cents=amount_cents, description=description[:255], provider=provider,
        method=method, payer_email=payer_email, payer_name=payer_name, recurring=recurring,
        details=details or {},
    )
    payment.return_url = return_url or f"{settings.public_url.rstrip('/')}/payments/{payment.id}/return"
    session.add(payment)
    session.flush()
    try:
        _start_checkout(session, payment, chosen, settings)
    except ProviderUnavailable as failure:
        if not finish_on_retry(session, step=CHECKOUT_STEP, token=str(payment.id), error=failure):
            raise
    return payment


def _start_checkout(session: Session, payment: Payment, chosen: PaymentProvider, settings: Settings) -> None:
    """Ask the provider for the payment's checkout; its key is the payment's, so asking again returns the same."""
    request = CheckoutRequest(
        payment_id=payment.id, reference=payment.reference, amount_cents=payment.amount_cents,
        description=payment.description, return_url=payment.return_url or "",
        webhook_url=f"{settings.public_url.rstrip('/')}/api/v1/webhooks/{payment.provider.value}",
        idempotency_key=f"payment:{payment.id}:checkout", payer_email=payment.payer_email, method=payment.method,
        recurring=payment.recurring, metadata={"payment_id": str(payment.id), "purpose": payment.purpose,
                                               "purpose_id": str(payment.purpose_id)},
    )
    try:
        checkout = chosen.create_checkout(request)
    except ProviderError as error:
        raise ProviderUnavailable(f"{payment.provider.value}: {error}", field="provider") from error
    payment.provider_reference = checkout.provider_reference
    payment.checkout_url = checkout.checkout_url
    session.add(payment)
    session.flush()


def _finish_checkout(session: Session, token: str, response: dict[str, Any]) -> dict[str, Any]:
    """On an Idempotency-Key retry: start the kept payment's checkout and show it in the stored response."""
    payment = get_payment(session, payment_id=uuid.UUID(token), for_update=True)
    if payment.provider_reference is None:
        if payment.status is not S.OPEN:
            raise Conflict(f"payment {payment.reference} is {payment.status.value}; start again",
                           field="Idempotency-Key")
        settings = get_settings()
        _start_checkout(session, payment, provider_for(session, payment.provider, settings), settings)
    shown = PaymentPublic.of(payment).model_dump(mode="json")
    return {name: shown if isinstance(value, dict) and value.get("id") == token else value
            for name, value in response.items()}


add_resumer(CHECKOUT_STEP, _finish_checkout)


def get_payment(session: Session, *, payment_id: uuid.UUID, for_update: bool = False) -> Payment:
    """One payment, row-locked on PostgreSQL when it is about to change."""
    payment = get_row(session, Payment, payment_id, for_update=for_update)
    if payment is None:
        raise NotFound("no such payment", field="payment_id")
    return payment


def payment_by_reference(session: Session, *, provider: ProviderName, reference: str) -> Payment | None:
    """The payment a provider knows as `reference`, read afresh and row-locked as get_payment's `for_update`, or
    None."""
    query = select(Payment).where(Payment.provider == provider, Payment.provider_reference == reference)
    if lock := row_lock(session, for_update=True):
        query = query.with_for_update(read=lock.get("read", False), key_share=lock.get("key_share", False))
    return session.exec(query.execution_options(populate_existing=True)).first()


def _book(session: Session, payment: Payment, *, key: str, amount_cents: int, sign: int, what: str) -> None:
    """Provider clearing against the purpose's accounts: sign +1 books money in, -1 money out."""
    handler = handler_for(payment.purpose)
    credit = (handler.credit_lines if sign > 0 else handler.money_back_lines)(session, payment, amount_cents)
    if sum(line.amount_cents for line in credit) != -amount_cents:
        raise RuntimeError(f"purpose {payment.purpose} credited a wrong amount")
    lines = [Line(account=_clearing_account(session, payment), amount_cents=sign * amount_cents,
                  payment_id=payment.id)]
    lines += [Line(account=ln.account, amount_cents=sign * ln.amount_cents, member_id=ln.member_id,
                   project_id=ln.project_id, fund_id=ln.fund_id, payment_id=payment.id) for ln in credit]
    post(session, key=key, lines=lines, description=f"{what} {payment.reference}: {payment.description}",
         source_type="payment", source_id=str(payment.id))


def _status_after_money_back(payment: Payment) -> PaymentStatus:
    """Where a received payment stands given what went back."""
    if payment.charged_back_cents > 0:
        return S.CHARGED_BACK
    if payment.refunded_cents >= payment.amount_cents:
        return S.REFUNDED
    return S.PARTIALLY_REFUNDED if payment.refunded_cents > 0 else S.PAID


def apply_snapshot(session: Session, *, payment: Payment, snapshot: ProviderSnapshot) -> str:
    """Move the payment to what the provider says, booking and notifying each change once.

    Returns what happened, for the event inbox. Transitions the state machine
    does not allow (a late "open" after "paid") are reported and ignored.
    """
    notes: list[str] = []
    handler = handler_for(payment.purpose)
    target = snapshot.status
    now = utc_now()
    payment.updated_at = now  # before the first flush, so that one UPDATE carries it with the changes
    if snapshot.method and not payment.method:
        payment.method = snapshot.method
    if snapshot.subscription_id and not payment.provider_subscription_id:
        payment.provider_subscription_id = snapshot.subscription_id
    if target is not payment.status and not (target is S.PAID and payment.status in MONEY_RECEIVED):
        if target in ALLOWED[payment.status]:
            notes.append(f"{payment.status.value} -> {target.value}")
            payment.status = target
            if target is S.PAID:
                payment.paid_at = now
                _book(session, payment, key=f"payment:{payment.id}:paid", amount_cents=payment.amount_cents,
                      sign=1, what="Payment")
                handler.on_paid(session, payment)
            elif target in UNSUCCESSFUL:
                handler.on_failed(session, payment)
        elif target not in MONEY_RECEIVED:
            notes.append(f"ignored {payment.status.value} -> {target.value} (not allowed)")
    if payment.status in MONEY_RECEIVED:
        notes += _apply_money_back(session, payment, snapshot)
    session.add(payment)
    session.flush()
    return "; ".join(notes) or "no change"


def _apply_money_back(session: Session, payment: Payment, snapshot: ProviderSnapshot) -> list[str]:
    """Book increases of the provider's refunded and charged-back totals (decreases are ignored)."""
    notes: list[str] = []
    handler = handler_for(payment.purpose)
    for attribute, what, chargeback in (("refunded_cents", "Refund", False),
                                        ("charged_back_cents", "Chargeback", True)):
        reported = min(getattr(snapshot, attribute), payment.amount_cents)
        already = getattr(payment, attribute)
        room = payment.amount_cents - payment.refunded_cents - payment.charged_back_cents
        delta = min(reported - already, room)
        if delta <= 0:
            continue
        setattr(payment, attribute, already + delta)
        _book(session, payment, key=f"payment:{payment.id}:{attribute}:{already + delta}", amount_cents=delta,
              sign=-1, what=what)
        handler.on_refunded(session, payment, delta, chargeback=chargeback)
        if not chargeback:
            _settle_pending_refunds(session, payment, delta)
        notes.append(f"{what.lower()} {delta} cents")
    new_status = _status_after_money_back(payment)
    if new_status is not payment.status:
        notes.append(f"{payment.status.value} -> {new_status.value}")
        payment.status = new_status
    return notes


def _settle_pending_refunds(session: Session, payment: Payment, confirmed_cents: int) -> None:
    """Mark our pending refunds done, oldest first, as far as the provider's new refunded total covers them."""
    for refund in sorted(_pending_refunds(session, payment), key=lambda r: r.created_at):
        if refund.amount_cents > confirmed_cents:
            break
        confirmed_cents -= refund.amount_cents
        refund.status = RefundStatus.REFUNDED
        session.add(refund)


def _pending_refunds(session: Session, payment: Payment) -> list[Refund]:
    """Refunds we asked for that the provider has not confirmed yet."""
    return list(session.exec(select(Refund).where(Refund.payment_id == payment.id,
                                                  Refund.status == RefundStatus.PENDING)).all())


def record_event(
    session: Session, *, provider: ProviderName, external_id: str, kind: str, raw: str,
    payment_id: uuid.UUID | None = None,
) -> ProviderEvent | None:
    """Put a delivery in the inbox; None when this exact event was received before (a no-op)."""
    event = ProviderEvent(provider=provider, external_id=external_id[:255], kind=kind[:100], raw=raw,
                          payment_id=payment_id)
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except exc.IntegrityError:
        return None
    return event


def finish_event(session: Session, *, event: ProviderEvent, outcome: str) -> None:
    """Mark an inbox event handled with what it did."""
    event.handled_at = utc_now()
    event.outcome = outcome[:500]
    session.add(event)
    session.flush()


def receive_notification(session: Session, *, provider: PaymentProvider, provider_reference: str,
                         raw: str, renewals: bool = False) -> str:
    """A notification that only names a payment: fetch the provider's truth and act on that alone.

    Unknown references change nothing (and say nothing about what exists), unless
    `renewals` (a subscription's webhook): then the provider is asked whether it is a
    payment it made by itself for one of our subscriptions, which becomes a new Payment.
    """
    payment = payment_by_reference(session, provider=provider.name, reference=provider_reference)
    if payment is None:
        if renewals:
            return _receive_renewal(session, provider=provider, provider_reference=provider_reference, raw=raw)
        return "unknown payment"
    try:
        snapshot = provider.fetch(provider_reference)
    except ProviderError as error:
        raise ProviderUnavailable(f"{provider.name.value}: {error}") from error
    external_id = (f"{provider_reference}:{snapshot.status.value}:{snapshot.refunded_cents}:"
                   f"{snapshot.charged_back_cents}")
    event = record_event(session, provider=provider.name, external_id=external_id, kind="notification",
                         raw=raw, payment_id=payment.id)
    if event is None:
        return "duplicate"
    outcome = apply_snapshot(session, payment=payment, snapshot=snapshot)
    finish_event(session, event=event, outcome=outcome)
    return outcome


def _receive_renewal(session: Session, *, provider: PaymentProvider, provider_reference: str, raw: str) -> str:
    """A subscription's notification about a payment we do not know yet: record it if it is our renewal."""
    fetch_renewal = getattr(provider, "fetch_renewal", None)
    if fetch_renewal is None:
        return "unknown payment"
    try:
        found = fetch_renewal(provider_reference)
    except ProviderError as error:
        raise ProviderUnavailable(f"{provider.name.value}: {error}") from error
    if found is None:
        return "unknown payment"
    renewal, snapshot = found
    external_id = (f"{provider_reference}:{snapshot.status.value}:{snapshot.refunded_cents}:"
                   f"{snapshot.charged_back_cents}")
    event = record_event(session, provider=provider.name, external_id=external_id, kind="renewal", raw=raw)
    if event is None:
        return "duplicate"
    outcome = _record_renewal(session, provider=provider, renewal=renewal, snapshot=snapshot)
    recorded = payment_by_reference(session, provider=provider.name, reference=provider_reference)
    event.payment_id = recorded.id if recorded else None
    finish_event(session, event=event, outcome=outcome)
    return outcome


def receive_event(session: Session, *, provider: PaymentProvider, event: ProviderEventData, raw: str) -> str:
    """A verified event that carries state (Stripe): inbox it once, then apply what it says.

    Events about unknown payments are kept in the inbox and change nothing.
    """
    payment = (payment_by_reference(session, provider=provider.name, reference=event.provider_reference)
               if event.provider_reference else None)
    inbox = record_event(session, provider=provider.name, external_id=event.external_id, kind=event.kind, raw=raw,
                         payment_id=payment.id if payment else None)
    if inbox is None:
        return "duplicate"
    if event.renewal is not None:
        outcome = _record_renewal(session, provider=provider, renewal=event.renewal)
        renewed = payment_by_reference(session, provider=provider.name, reference=event.renewal.provider_reference)
        inbox.payment_id = renewed.id if renewed else None
    elif event.ended_subscription_id is not None:
        outcome = _end_recurring(session, provider=provider, subscription_id=event.ended_subscription_id)
    elif payment is not None and event.snapshot is not None:
        outcome = apply_snapshot(session, payment=payment, snapshot=event.snapshot)
    else:
        outcome = "no matching payment" if payment is None and event.provider_reference else "not acted on"
    finish_event(session, event=inbox, outcome=outcome)
    return outcome


def _record_renewal(session: Session, *, provider: PaymentProvider, renewal: Renewal,
                    snapshot: ProviderSnapshot | None = None) -> str:
    """A period the provider collected by itself: one new Payment (once per provider reference).

    Without a snapshot the renewal is paid (Stripe's invoice.paid); Mollie's may still be pending (SEPA).
    """
    truth = snapshot or ProviderSnapshot(provider_reference=renewal.provider_reference, status=S.PAID)
    known = payment_by_reference(session, provider=provider.name, reference=renewal.provider_reference)
    if known is not None:
        return "renewal already recorded; " + apply_snapshot(session, payment=known, snapshot=truth)
    handler_for(renewal.purpose)
    try:
        with session.begin_nested():
            payment = Payment(
                reference=f"KR{next_reference(session, series='payment_reference'):08d}", purpose=renewal.purpose,
                purpose_id=renewal.purpose_id, amount_cents=renewal.amount_cents,
                description=renewal.description[:255], provider=provider.name,
                provider_reference=renewal.provider_reference, recurring=True,
                provider_subscription_id=renewal.provider_subscription_id,
            )
            session.add(payment)
            session.flush()
    except exc.IntegrityError:
        # A concurrent delivery about the same renewal created it first: apply our news to that one.
        raced = payment_by_reference(session, provider=provider.name, reference=renewal.provider_reference)
        if raced is None:
            raise
        return "renewal already recorded; " + apply_snapshot(session, payment=raced, snapshot=truth)
    return "renewal: " + apply_snapshot(session, payment=payment, snapshot=truth)


def _end_recurring(session: Session, *, provider: PaymentProvider, subscription_id: str) -> str:
    """Tell the purpose of the subscription's payments that the provider stopped collecting."""
    first = session.exec(select(Payment).where(Payment.provider == provider.name,
                                               Payment.provider_subscription_id == subscription_id)).first()
    if first is None:
        return "unknown subscription"
    handler_for(first.purpose).on_recurring_ended(session, provider_subscription_id=subscription_id)
    return "subscription ended"


def _recurring_provider(session: Session, name: ProviderName) -> Any:
    """Stripe or Mollie, for managing a subscription they collect; ProviderUnavailable when not configured."""
    if name not in (ProviderName.STRIPE, ProviderName.MOLLIE):
        raise InvalidInput(f"{name.value} does not collect by itself", field="provider")
    return provider_for(session, name)


@contextmanager
def _asking(name: ProviderName) -> Iterator[None]:
    """A provider's refusal as a 502 that changes nothing."""
    try:
        yield
    except ProviderError as error:
        raise ProviderUnavailable(f"{name.value}: {error}", field="provider") from error


def start_collection(
    session: Session, *, first_payment_id: uuid.UUID, amount_cents: int, description: str, start_date: date,
    metadata: dict[str, str], idempotency_key: str,
) -> tuple[str | None, str]:
    """After a paid first payment: (customer id, subscription id) of the provider's yearly collection from `start_date`.

    Stripe made the subscription in its checkout; Mollie needs one on the mandate the first payment created.
    """
    payment = get_payment(session, payment_id=first_payment_id)
    provider = _recurring_provider(session, payment.provider)
    if payment.provider is ProviderName.STRIPE:
        if not payment.provider_subscription_id:
            raise Conflict("Stripe has not named the subscription of this payment yet", field="payment_id")
        return None, payment.provider_subscription_id
    with _asking(payment.provider):
        customer_id = provider.customer_of(payment.provider_reference or "")
        collection_id = provider.start_subscription(
            customer_id, amount_cents, description, start_date, _subscription_webhook_url(), metadata,
            idempotency_key=idempotency_key)
    return customer_id, collection_id


def stop_collection(session: Session, *, provider: ProviderName, subscription_id: str, customer_id: str | None,
                    at_period_end: bool) -> None:
    """Stop the provider renewing: Stripe at the period's end (or now), Mollie at once (nothing is due before)."""
    chosen = _recurring_provider(session, provider)
    with _asking(provider):
        if provider is ProviderName.STRIPE:
            if at_period_end:
                chosen.set_cancel_at_period_end(subscription_id, True)
            else:
                chosen.cancel_now(subscription_id)
        else:
            chosen.cancel_subscription(_customer(customer_id), subscription_id)


def resume_collection(
    session: Session, *, provider: ProviderName, subscription_id: str, customer_id: str | None, amount_cents: int,
    description: str, start_date: date, metadata: dict[str, str],
) -> str:
    """Undo `stop_collection(at_period_end=True)`; the id of the collection that goes on (Mollie: a new one)."""
    chosen = _recurring_provider(session, provider)
    with _asking(provider):
        if provider is ProviderName.STRIPE:
            chosen.set_cancel_at_period_end(subscription_id, False)
            return subscription_id
        return str(chosen.start_subscription(_customer(customer_id), amount_cents, description, start_date,
                                             _subscription_webhook_url(), metadata,
                                             idempotency_key=f"resume:{subscription_id}:{start_date.isoformat()}"))


def change_collection_amount(session: Session, *, provider: ProviderName, subscription_id: str,
                             customer_id: str | None, amount_cents: int, description: str) -> None:
    """Collect a different amount from the next renewal on."""
    chosen = _recurring_provider(session, provider)
    with _asking(provider):
        if provider is ProviderName.STRIPE:
            chosen.change_amount(subscription_id, amount_cents, description)
        else:
            chosen.change_subscription_amount(_customer(customer_id), subscription_id, amount_cents, description)


def _customer(customer_id: str | None) -> str:
    """Mollie addresses a subscription through its customer."""
    if not customer_id:
        raise Conflict("the provider's customer of this subscription is not known", field="provider")
    return customer_id


def _subscription_webhook_url() -> str:
    """Where Mollie reports the payments it makes by itself for our subscriptions."""
    return f"{get_settings().public_url.rstrip('/')}/api/v1/webhooks/mollie/subscriptions"


def confirm_transfer(session: Session, *, payment_id: uuid.UUID) -> Payment:
    """A treasurer saw the money on the bank statement: the bank transfer is paid."""
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    if payment.provider is not ProviderName.BANK_TRANSFER:
        raise Conflict("only bank transfers are confirmed by hand", field="payment_id")
    if payment.status in MONEY_RECEIVED:
        return payment
    if S.PAID not in ALLOWED[payment.status]:
        raise Conflict(f"a {payment.status.value} payment cannot be confirmed", field="payment_id")
    snapshot = ProviderSnapshot(provider_reference=payment.provider_reference or payment.reference,
                                status=S.PAID, method="bank_transfer")
    apply_snapshot(session, payment=payment, snapshot=snapshot)
    return payment


def refund_payment(
    session: Session, *, payment_id: uuid.UUID, amount_cents: int | None, reason: str | None,
    requested_by: uuid.UUID | None, idempotency_key: str | None = None,
) -> Refund:
    """Ask the provider to give money back; the ledger moves when the provider confirms it.

    A caller that retries the same refund (a job) passes its own `idempotency_key`, so a provider that refunded
    before our transaction rolled back is not asked twice.
    """
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    if payment.status not in (S.PAID, S.PARTIALLY_REFUNDED):
        raise Conflict(f"a {payment.status.value} payment cannot be refunded", field="payment_id")
    pending = sum(r.amount_cents for r in _pending_refunds(session, payment))
    refundable = payment.amount_cents - payment.refunded_cents - payment.charged_back_cents - pending
    amount = refundable if amount_cents is None else amount_cents
    if amount <= 0 or amount > refundable:
        raise InvalidInput(f"at most {refundable} cents can be refunded", field="amount_cents")
    if amount != refundable and not handler_for(payment.purpose).partial_refunds:
        raise InvalidInput(f"a {payment.purpose} payment is refunded in full or not at all", field="amount_cents")
    handler_for(payment.purpose).check_refund(session, payment, amount)
    refund = Refund(payment_id=payment.id, amount_cents=amount, reason=reason, requested_by=requested_by)
    session.add(refund)
    session.flush()
    provider = provider_for(session, payment.provider)
    try:
        result = provider.refund(payment.provider_reference or payment.reference, amount,
                                 idempotency_key or f"refund-{refund.id}")
    except ProviderError as error:
        raise ProviderUnavailable(f"{payment.provider.value} refused the refund: {error}",
                                  field="amount_cents") from error
    refund.provider_reference = result.provider_reference
    refund.status = result.status
    session.add(refund)
    if result.status is RefundStatus.REFUNDED:
        snapshot = ProviderSnapshot(provider_reference=payment.provider_reference or payment.reference,
                                    status=S.PAID, refunded_cents=payment.refunded_cents + amount,
                                    charged_back_cents=payment.charged_back_cents)
        apply_snapshot(session, payment=payment, snapshot=snapshot)
    session.flush()
    return refund


RECONCILED_PROVIDERS = (ProviderName.SANDBOX, ProviderName.STRIPE, ProviderName.MOLLIE)


@dataclass(frozen=True)
class ReconcileResult:
    """What reconciliation learnt about one payment."""

    payment_id: uuid.UUID
    reference: str
    provider: ProviderName
    before: PaymentStatus
    after: PaymentStatus
    outcome: str


def reconcile(session: Session, *, open_after: timedelta, recent: timedelta = timedelta(days=60),
              limit: int = 500) -> list[ReconcileResult]:
    """Fetch the provider's truth for payments open longer than `open_after` and for recently paid ones.

    Goes through the same inbox and state machine as webhooks; a provider that
    does not answer is reported for that payment and the rest go on.
    """
    now = utc_now()
    stale = (col(Payment.status).in_([S.OPEN, S.PENDING])) & (col(Payment.created_at) <= now - open_after)
    received = (col(Payment.status).in_([S.PAID, S.PARTIALLY_REFUNDED])) & (col(Payment.paid_at) >= now - recent)
    candidates = session.exec(
        select(Payment.id).where(col(Payment.provider).in_(RECONCILED_PROVIDERS), stale | received,
                                 col(Payment.provider_reference).is_not(None))
        .order_by(col(Payment.created_at)).limit(limit)).all()
    results: list[ReconcileResult] = []
    for payment_id in candidates:
        payment = get_payment(session, payment_id=payment_id, for_update=True)
        before = payment.status
        try:
            provider = provider_for(session, payment.provider)
            outcome = receive_notification(session, provider=provider,
                                           provider_reference=payment.provider_reference or "", raw="reconcile")
        except (ProviderUnavailable, InvalidInput) as error:
            outcome = f"error: {error.message}"
        if outcome not in ("duplicate", "no change"):
            results.append(ReconcileResult(payment_id=payment.id, reference=payment.reference,
                                           provider=payment.provider, before=before, after=payment.status,
                                           outcome=outcome))
    return results + _expire_never_started(session, before=now - open_after, limit=limit)


def _expire_never_started(session: Session, *, before: datetime, limit: int) -> list[ReconcileResult]:
    """Payments whose checkout failed and was never finished by a retry: nobody was shown a way to pay them."""
    kept = session.exec(
        select(Payment.id).where(col(Payment.provider).in_(RECONCILED_PROVIDERS), col(Payment.status) == S.OPEN,
                                 col(Payment.provider_reference).is_(None), col(Payment.created_at) <= before)
        .order_by(col(Payment.created_at)).limit(limit)).all()
    results: list[ReconcileResult] = []
    for payment_id in kept:
        payment = get_payment(session, payment_id=payment_id, for_update=True)
        outcome = apply_snapshot(session, payment=payment,
                                 snapshot=ProviderSnapshot(provider_reference="", status=S.EXPIRED))
        results.append(ReconcileResult(payment_id=payment.id, reference=payment.reference,
                                       provider=payment.provider, before=S.OPEN, after=payment.status,
                                       outcome=f"checkout never started: {outcome}"))
    return results

"""SEPA credit-transfer files (pain.001) for the treasurer's bank: redemptions that are due, and what other
domains owe (succeeded projects), passed in as lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from schwifty import IBAN
from sepaxml import SepaTransfer
from sqlmodel import Session

from coop.core.errors import InvalidInput
from coop.core.settings import Settings
from coop.members.service import get_member
from coop.shares.models import ShareMutation
from coop.shares.service import due_payouts

PAIN_SCHEMA = "pain.001.001.03"


@dataclass(frozen=True)
class PayoutLine:
    """One transfer in the file, or left out with the reason."""

    reference: str  # what the treasurer marks paid afterwards (a redemption's or a project's id)
    name: str
    iban: str | None
    amount_cents: int
    description: str
    endtoend_id: str
    problem: str | None = None


def redemption_line(mutation: ShareMutation, *, name: str, iban: str | None) -> PayoutLine:
    """A due redemption as a transfer to the former holder."""
    return PayoutLine(reference=str(mutation.id), name=name, iban=iban, amount_cents=mutation.amount_cents,
                      description=f"Terugbetaling aandelen {mutation.class_code}",
                      endtoend_id=f"RED{mutation.id.hex[:20].upper()}",
                      problem=None if iban else "no IBAN known for this member")


@dataclass
class PayoutFile:
    """What was written: the included transfers, the ones left out, and the total."""

    path: Path | None
    included: list[PayoutLine] = field(default_factory=list)
    left_out: list[PayoutLine] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        """The sum of the included transfers."""
        return sum(line.amount_cents for line in self.included)


def write_payout_file(session: Session, *, on: date, out: Path, settings: Settings,
                      others: Sequence[PayoutLine] = ()) -> PayoutFile:
    """Write a pain.001 file (validated against its XSD) of redemptions due by `on` and `others`; books nothing.

    Payees without an IBAN are left out and reported. The treasurer marks each
    payout paid once the bank executed it (that is when the ledger moves).
    """
    if not settings.coop_iban:
        raise InvalidInput("set KRACHT_COOP_IBAN (and KRACHT_COOP_BIC) to the cooperative's account",
                           field="coop_iban")
    lines = []
    for mutation in due_payouts(session, on=on):
        member = get_member(session, member_id=mutation.from_member_id)
        lines.append(redemption_line(mutation, name=member.name, iban=member.iban))
    lines += others
    result = PayoutFile(path=None, included=[ln for ln in lines if ln.problem is None],
                        left_out=[ln for ln in lines if ln.problem is not None])
    if not result.included:
        return result
    own = IBAN(settings.coop_iban)
    transfer = SepaTransfer({"name": settings.coop_name, "IBAN": str(own.compact),
                             "BIC": settings.coop_bic or str(own.bic or ""), "batch": True, "currency": "EUR"},
                            schema=PAIN_SCHEMA, clean=True)
    for line in result.included:
        transfer.add_payment({
            "name": line.name, "IBAN": line.iban, "amount": line.amount_cents, "execution_date": on,
            "description": line.description, "endtoend_id": line.endtoend_id})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(transfer.export(validate=True, pretty_print=True))
    result.path = out
    return result

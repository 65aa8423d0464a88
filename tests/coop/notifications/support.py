"""Sample contexts of every template, as the callers pass them (already formatted strings)."""

from __future__ import annotations

from typing import Any

LOCALES = ("nl", "en")

# Every optional value set, so each key the template can use is used (StrictUndefined finds a missing one).
SAMPLES: dict[str, dict[str, Any]] = {
    "welcome": {"member_name": "Fatima el Amrani", "member_number": "1042"},
    "payment_received": {"member_name": "Fatima el Amrani", "amount": "€ 99,00",
                         "description": "Abonnement Standaard 2026", "reference": "KR-7F3A2C"},
    "invoice": {"member_name": "Fatima el Amrani", "invoice_number": "2026-0007", "gross": "€ 99,00",
                "period_from": "29-11-2026", "period_until": "28-11-2027",
                "pdf_url": "https://kracht.example/api/v1/members/x/invoices/2026-0007/pdf",
                "payment_reference": "RF18 5390 0754 7034", "iban": "NL91ABNA0417164300",
                "pay_url": "https://kracht.example/pay/abc"},
    "renewal_upcoming": {"member_name": "Fatima el Amrani", "renewal_date": "29-11-2026", "amount": "€ 99,00",
                         "tier_name": "Standaard", "collected_by_provider": False},
    "reminder": {"member_name": "Fatima el Amrani", "reminder_number": "1", "due_date": "29-11-2026",
                 "amount": "€ 99,00", "lapse_date": "29-12-2026", "pay_url": "https://kracht.example/pay/abc",
                 "collected_by_provider": False},
    "lapsed": {"member_name": "Fatima el Amrani", "lapsed_on": "29-12-2026", "amount": "€ 99,00",
               "resubscribe_url": "https://kracht.example/members/x/subscription"},
    "donation_receipt": {"member_name": "Fatima el Amrani", "amount": "€ 25,00", "fund_name": "Wijkfonds Lombok",
                         "project_title": "Buurtmoestuin", "date": "01-11-2027"},
    "sign_in_link": {"member_name": "Fatima el Amrani", "link": "https://kracht.example/mijn/inloggen/abc",
                     "minutes": "15"},
    "erasure_requested": {"member_name": "Fatima el Amrani", "member_id": "8f1c0c2e-4d0b-4c59-9d55-1c9f0f7b7e11"},
}


def sample(template: str, **changes: Any) -> dict[str, Any]:
    """The sample context of `template`, with some values changed."""
    return {**SAMPLES[template], **changes}

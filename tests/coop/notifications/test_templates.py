"""Every template exists in Dutch and English, uses exactly the keys its callers pass, and says the right thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coop.core.settings import Settings
from coop.notifications.service import Rendered, render
from tests.coop.notifications.support import LOCALES, SAMPLES, sample

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "coop" / "notifications" / "templates"
SETTINGS = Settings()
ALL = [(template, locale) for template in SAMPLES for locale in LOCALES]


def rendered(template: str, locale: str, **changes: Any) -> Rendered:
    return render(template, locale=locale, context=sample(template, **changes), settings=SETTINGS)


def test_each_template_has_a_dutch_and_an_english_version() -> None:
    files = {path.name for path in TEMPLATES_DIR.glob("*.j2")}

    assert files == {f"{template}.{locale}.txt.j2" for template, locale in ALL}


@pytest.mark.parametrize(("template", "locale"), ALL)
def test_renders_with_its_sample_context(template: str, locale: str) -> None:
    message = rendered(template, locale)

    assert message.locale == locale
    assert 0 < len(message.subject) <= 255 and "\n" not in message.subject
    greeting = "Beste beheerder" if template == "erasure_requested" else "Beste Fatima el Amrani"
    assert message.body.startswith((f"{greeting},\n", f"{greeting.replace('Beste', 'Dear')},\n".replace(
        "beheerder", "administrator")))
    assert message.body.endswith(f"\n\n{SETTINGS.coop_name}\n")
    assert "None" not in message.body and "None" not in message.subject
    assert "\n\n\n" not in message.body
    assert "{" not in message.body and "}" not in message.body
    for key, value in SAMPLES[template].items():
        if isinstance(value, str) and key != "member_name":
            assert value in message.subject + message.body, key


@pytest.mark.parametrize(("template", "locale"), ALL)
def test_every_context_key_is_required(template: str, locale: str) -> None:
    for key in SAMPLES[template]:
        context = {name: value for name, value in SAMPLES[template].items() if name != key}
        with pytest.raises(ValueError, match=key):
            render(template, locale=locale, context=context, settings=SETTINGS)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_cooperatives_name_comes_from_the_settings(locale: str) -> None:
    message = render("welcome", locale=locale, context=sample("welcome"),
                     settings=Settings(coop_name="Energiecoöperatie Zonnedak U.A."))

    assert "Energiecoöperatie Zonnedak U.A." in message.subject
    assert message.body.endswith("\n\nEnergiecoöperatie Zonnedak U.A.\n")


def test_values_are_not_html_escaped() -> None:
    message = rendered("welcome", "nl", member_name="Bakker & Zonen <BV>")

    assert message.body.startswith("Beste Bakker & Zonen <BV>,\n")


# --- invoice: how to pay ------------------------------------------------------------------------------


def test_invoice_by_transfer_gives_iban_and_payment_reference() -> None:
    body = rendered("invoice", "nl", pay_url=None).body

    assert "U kunt € 99,00 overmaken naar NL91ABNA0417164300" in body
    assert "betalingskenmerk RF18 5390 0754 7034" in body
    assert "Periode: 29-11-2026 t/m 28-11-2027" in body


def test_invoice_with_a_payment_link_offers_transfer_as_the_alternative() -> None:
    body = rendered("invoice", "nl").body

    assert "online betalen via:\nhttps://kracht.example/pay/abc\n" in body
    assert "Liever zelf overmaken? Maak dan € 99,00 over naar NL91ABNA0417164300" in body


@pytest.mark.parametrize("locale", LOCALES)
def test_invoice_without_link_or_iban_asks_for_nothing(locale: str) -> None:
    body = rendered("invoice", locale, pay_url=None, iban=None, payment_reference=None).body

    assert "https://kracht.example/pay/abc" not in body and "NL91" not in body
    assert "niets te doen" in body or "nothing you need to do" in body


# --- renewal and reminders: never ask to pay what a provider collects ------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_renewal_collected_by_the_provider_needs_no_action(locale: str) -> None:
    body = rendered("renewal_upcoming", locale, collected_by_provider=True).body

    assert "automatisch afgeschreven" in body or "collected automatically" in body
    assert "betaallink" not in body and "payment link" not in body


@pytest.mark.parametrize("locale", LOCALES)
def test_renewal_not_collected_announces_a_payment_link(locale: str) -> None:
    body = rendered("renewal_upcoming", locale).body

    assert "factuur met een betaallink" in body or "invoice from us with a payment link" in body


@pytest.mark.parametrize("locale", LOCALES)
def test_reminder_for_a_provider_asks_to_check_the_payment_method_not_to_pay(locale: str) -> None:
    message = rendered("reminder", locale, collected_by_provider=True)

    assert "https://kracht.example/pay/abc" not in message.body
    assert any(text in message.body for text in ("u hoeft dus niet zelf te betalen",
                                                  "you do not need to make a payment yourself"))
    assert "betaalmethode" in message.body or "payment method" in message.body
    assert "al betaald" not in message.body and "paid in the meantime" not in message.body


def test_reminder_with_a_link_asks_to_pay_there() -> None:
    message = rendered("reminder", "nl")

    assert message.subject == "Herinnering: uw betaling van € 99,00 staat nog open"
    assert "U kunt eenvoudig betalen via:\nhttps://kracht.example/pay/abc\n" in message.body
    assert "vervalt uw abonnement per die datum" in message.body
    assert "laatste herinnering" not in message.body


@pytest.mark.parametrize(("locale", "subject", "last"), [
    ("nl", "Tweede herinnering: uw betaling van € 99,00 staat nog open", "tweede en laatste herinnering"),
    ("en", "Second reminder: your payment of € 99,00 is still outstanding", "second and final reminder"),
])
def test_the_second_reminder_says_so(locale: str, subject: str, last: str) -> None:
    message = rendered("reminder", locale, reminder_number="2")

    assert message.subject == subject
    assert last in message.body

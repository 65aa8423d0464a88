"""Every Dutch text of the public pages has its English translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from coop.web import account, forms, pages, templating
from funding.web import account as pledge_account
from funding.web import initiators
from funding.web import pages as project_pages

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_texts() -> set[str]:
    """The texts the templates pass to gettext."""
    found = set()
    for folder in ("coop/web/templates", "funding/web/templates"):
        for _file, _line, message, *_ in extract_from_dir(
                ROOT / folder, method_map=[("**.html", "jinja2")],
                options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
            found.add(message if isinstance(message, str) else message[0])
    return found


def code_texts() -> set[str]:
    """The texts the pages hand to the templates to translate (labels, field messages, error pages)."""
    return {*forms.FIELD_MESSAGES.values(), forms.GENERAL, *forms.EXPIRED, *forms.ROBOT, templating.NOT_FOUND,
            *pages.KINDS.values(), *project_pages.THEMES.values(), *project_pages.PLEDGE_KINDS.values(),
            *project_pages.CLOSED.values(), "Anoniem", *account.STATUSES.values(), account.LINK_USED,
            account.NO_MATCH, account.TOO_MANY, *pledge_account.PLEDGE_STATUSES.values(),
            *initiators.STATUSES.values(), *initiators.MODELS.values(), *initiators.VOLUNTEER_STATUSES.values(),
            *initiators.NOTICES.values(), *(text for _, label, _, hint in initiators.NEW_PROJECT_FIELDS
                                            for text in (label, hint) if text)}


def test_every_text_has_an_english_translation_with_the_same_placeholders() -> None:
    with (ROOT / "coop/web/locale/en/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source)
    english = {message.id: message.string for message in catalog if message.id}

    texts = template_texts() | code_texts()

    assert len(texts) > 100
    missing = sorted(text for text in texts if not english.get(text))
    assert not missing, f"no English for: {missing}"
    for text in texts:
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[text])), text
    assert not sorted(set(english) - texts), "translations of texts no page uses any more"

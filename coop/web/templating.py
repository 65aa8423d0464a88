"""Rendering the public pages: Jinja2 templates in Dutch (the default) or English, Dutch amounts and dates.

The templates' texts are Dutch and are the gettext message ids; `locale/en/LC_MESSAGES/messages.po` translates
them. One Jinja environment per language, so concurrent requests never share a translation.
"""

from __future__ import annotations

import io
import secrets
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from coop.core.clock import today_amsterdam
from coop.core.money import format_eur
from coop.core.registry import Registry
from coop.core.settings import get_settings

HERE = Path(__file__).parent
LANGUAGES = ("nl", "en")
LANGUAGE_COOKIE = "kracht_taal"
CSRF_COOKIE = "kracht_csrf"
BABEL_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
NOT_FOUND = "Niet gevonden"

_FOLDERS: Registry[Path] = Registry("template folder")
_FOLDERS.add("coop", HERE / "templates")


def add_template_folder(name: str, folder: Path) -> None:
    """Let another part (funding's project pages) add its templates beside the cooperative's."""
    _FOLDERS.add(name, folder)
    environment.cache_clear()


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (Dutch is the source and needs none)."""
    po = HERE / "locale" / language / "LC_MESSAGES" / "messages.po"
    if language == "nl" or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@cache
def environment(language: str) -> Environment:
    """The templates of every registered folder, escaped, with this language's texts and formats."""
    env = Environment(loader=ChoiceLoader([FileSystemLoader(folder) for folder in _FOLDERS]), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"], trim_blocks=True,
                      lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    locale = BABEL_LOCALES[language]
    env.filters["euros"] = lambda cents: format_eur(int(cents), nbsp=True)
    env.filters["day"] = lambda value: format_date(value, "d MMMM yyyy", locale=locale)
    env.filters["number"] = lambda value: format_decimal(value, locale=locale)
    env.filters["hours"] = lambda minutes: format_decimal(Decimal(int(minutes)) / 60, format="#,##0.#",
                                                          locale=locale)
    env.globals["language"] = language
    return env


def language_of(request: Request) -> str:
    """The reader's language: their choice (cookie), else what the browser prefers, else Dutch."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    header = request.headers.get("accept-language", "")
    preferred = [part.split(";")[0].strip().replace("-", "_") for part in header.split(",") if part.strip()]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="_") if preferred else None
    return Locale.parse(found).language if found else "nl"


def csrf_token(request: Request) -> str:
    """The form token of this browser (the cookie's value; a new one when it has none yet)."""
    return request.cookies.get(CSRF_COOKIE) or request.state.__dict__.setdefault("new_csrf",
                                                                                  secrets.token_urlsafe(32))


def not_found(request: Request) -> HTMLResponse:
    """The page for something that does not exist (or is not public)."""
    return render(request, "error.html", status_code=404, title=NOT_FOUND)


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the reader's language, with the form token (set as a cookie the first time)."""
    language = language_of(request)
    token = csrf_token(request)
    page = environment(language).get_template(template)
    html = page.render(request=request, csrf_token=token, today=today_amsterdam(), path=request.url.path,
                       **context)
    response = HTMLResponse(html, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax",
                            secure=get_settings().is_production, max_age=60 * 60 * 24 * 30)
    return response

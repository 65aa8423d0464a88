"""Reading and posting the public pages' forms as a browser does: the hidden token and submission id included."""

from __future__ import annotations

from typing import Any

from lxml import html


def page(client, path: str, **kw: Any):
    """GET a page; its parsed document (asserting 200)."""
    response = client.get(path, **kw)
    assert response.status_code == 200, response.text
    return html.fromstring(response.text)


def form_fields(document, form_id: str) -> dict[str, str]:
    """The form's hidden fields (CSRF token, submission id, the empty honeypot)."""
    form = document.get_element_by_id(form_id)
    return {field.name: field.value or "" for field in form.inputs if getattr(field, "type", None) == "hidden"}


def input_names(document, form_id: str) -> set[str]:
    """The names of every field of a form the reader fills in (no hidden ones, no honeypot)."""
    form = document.get_element_by_id(form_id)
    return {field.name for field in form.inputs
            if field.name and getattr(field, "type", None) != "hidden" and field.name != "website"}


def submit(client, path: str, form_id: str, action: str, **values: str):
    """Open `path`, fill in the form and post it (no redirects followed); the response."""
    fields = form_fields(page(client, path), form_id)
    return client.post(action, data={**fields, **values}, follow_redirects=False)


def local(url: str) -> str:
    """A redirect's path on this site (the sandbox checkout is announced with the public URL)."""
    for prefix in ("http://testserver", "http://127.0.0.1:8000"):
        if url.startswith(prefix):
            return url[len(prefix):]
    return url


def error_beside(document, field: str) -> str:
    """The error text shown beside a field, which the field points at (aria-describedby)."""
    control = document.get_element_by_id(field)
    assert f"{field}-error" in (control.get("aria-describedby") or ""), "the field does not point at its error"
    assert control.get("aria-invalid") == "true"
    return document.get_element_by_id(f"{field}-error").text_content().strip()

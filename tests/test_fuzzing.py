"""The API fuzzed with schemathesis against its own OpenAPI schema, as anonymous and as each role: no 5xx, every
4xx of the API is problem+json, and every 2xx answer has the declared shape.

`make test` runs a few examples per operation and caller; `make fuzz` runs many more (KRACHT_FUZZ_EXAMPLES).
Cases that once found a bug are kept as regression tests below.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from coop.auth.models import Role

EXAMPLES = int(os.environ.get("KRACHT_FUZZ_EXAMPLES", "4"))
CALLERS = (None, Role.MEMBER, Role.INITIATOR, Role.FUND_MANAGER, Role.BOARD, Role.TREASURER, Role.ADMIN)


def content_type(response) -> str:
    """The answer's content type (schemathesis keeps every header as a list of values)."""
    values = {name.lower(): value for name, value in response.headers.items()}.get("content-type", [""])
    return values[0] if isinstance(values, list) else values


def problems(case, response) -> list[str]:
    """What is wrong with one answer."""
    found = []
    if response.status_code >= 500:
        found.append(f"{response.status_code}: {response.text[:200]}")
    elif response.status_code >= 400 and case.operation.path.startswith("/api/"):
        if not content_type(response).startswith("application/problem+json"):
            found.append(f"{response.status_code} is not problem+json: {content_type(response)}")
    elif 200 <= response.status_code < 300 and "json" in content_type(response):
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except Exception as failure:  # schemathesis raises a group of failures
            found.append(f"{response.status_code} does not match its schema: {str(failure)[:300]}")
    return found


@pytest.mark.parametrize("caller", CALLERS, ids=lambda role: role.value if role else "anonymous")
def test_no_operation_answers_5xx_or_breaks_its_contract(client, auth_headers, caller) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = auth_headers(caller) if caller else {}
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            response = case.call(headers={**(case.headers or {}), **headers})
            found.extend(f"{case.method} {case.operation.path} {problem}" for problem in problems(case, response))

        check()
    assert not found, "\n".join(sorted(set(found))[:40])


# What the fuzzer found, kept: paging numbers past SQLite's 64-bit integers were a 500 (OverflowError).
@pytest.mark.parametrize("path", ["/api/v1/projects?page=92233720368547760&per_page=100",
                                  "/api/v1/ledger/entries?offset=92233720368547758070",
                                  "/api/v1/payments?offset=92233720368547758070",
                                  "/api/v1/audit?offset=92233720368547758070",
                                  "/api/v1/members?offset=92233720368547758070"])
def test_huge_paging_numbers_are_a_422_not_a_500(client, auth_headers, path: str) -> None:
    response = client.get(path, headers=auth_headers(Role.BOARD, Role.TREASURER))
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")


def test_a_huge_page_number_on_the_public_list_is_its_last_page(client) -> None:
    assert client.get("/projecten?pagina=92233720368547760").status_code == 200

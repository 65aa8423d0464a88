"""The app starts and the database answers, on both databases."""

from fastapi.testclient import TestClient


def test_healthz_reports_the_database(client: TestClient, database) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": database.dialect.name}

"""Small helpers the API tests share (importable: pytest puts tests/ on sys.path for its conftest)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def guest(client: TestClient) -> dict[str, str]:
    """A new guest's auth headers."""
    r = client.post("/api/v1/auth/guest")
    assert r.status_code == 201, r.text
    return bearer(r.json()["access_token"])


def check(client: TestClient, h: dict[str, str], qid: str, answer, **extra) -> dict:
    """POST /api/v1/questions/{qid}/check as `h`, which must succeed: the response."""
    r = client.post(f"/api/v1/questions/{qid}/check", json={"answer": answer, **extra}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()

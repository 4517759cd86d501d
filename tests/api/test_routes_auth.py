"""Least privilege on every route: the test walks the OpenAPI document and tries each operation with no
key, an invalid key and a key of a role the route does not admit."""

from __future__ import annotations

import re
from typing import Any

from seed import ROLES, World


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in ("get", "post", "put", "patch", "delete")]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_openapi_is_served_and_lists_roles(shared_world: World) -> None:
    r = shared_world.client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    ops = _operations(spec)
    assert len(ops) >= 40
    paths = set(spec["paths"])
    for needed in ("/v1/posts", "/v1/posts/batch", "/v1/accounts", "/v1/edges", "/v1/reports", "/v1/enforcement",
                   "/v1/decisions/{decision_id}", "/v1/review/queues", "/v1/review/jobs/{job_id}/decision",
                   "/v1/appeals", "/v1/cases", "/v1/cases/{case_id}/export", "/h/hash", "/m/raw_lookup",
                   "/m/lookup", "/c/banks", "/v1/trends", "/v1/audit/export", "/v1/transparency/report",
                   "/v1/transparency/statements", "/v1/keys"):
        assert needed in paths, needed
    assert not any(p.startswith("/ui") for p in paths), "the UI is not part of the API document"
    for method, path, op in ops:
        roles = op.get("x-bastion-roles")
        assert roles and set(roles) <= set(ROLES), f"{method} {path} declares no roles"
        assert roles != sorted(ROLES), f"{method} {path} admits every role: not least privilege"


def test_every_route_rejects_missing_invalid_and_wrong_role_keys(shared_world: World) -> None:
    client = shared_world.client
    ops = _operations(client.get("/openapi.json").json())
    forged = "bst_000000000000_" + "A" * 43
    for method, path, op in ops:
        url = _url(path)
        r = client.request(method, url)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"
        r = client.request(method, url, headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401, (method, path)
        r = client.request(method, url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert r.status_code == 401, (method, path)
        for role in ROLES:
            if role in op["x-bastion-roles"]:
                continue
            r = client.request(method, url, headers=shared_world.h(role))
            assert r.status_code == 403, (method, path, role, r.status_code)
            body = r.json()["error"]
            assert body["code"] == "forbidden" and role in body["message"]


def test_allowed_role_gets_past_authentication(shared_world: World) -> None:
    """The complement: the admitted role is never refused with 401/403 by the auth layer itself."""
    client = shared_world.client
    for method, path, op in _operations(client.get("/openapi.json").json()):
        role = op["x-bastion-roles"][0]
        r = client.request(method, _url(path), headers=shared_world.h(role))
        assert r.status_code not in (401, 403), (method, path, role, r.status_code, r.text[:200])
        assert r.status_code < 500, (method, path, r.text[:300])

"""A small, schematic world for the API, UI and browser tests: four keys, three accounts, posts that trip
the stub detector (marker tokens, no real propaganda), a benign image stored as evidence, a user report,
an authority's removal order, a hashtag campaign, and - when the threats capability is installed - a
security case."""

from __future__ import annotations

import hashlib
import io
import sys
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parent))
import stub

with warnings.catch_warnings():  # starlette's notice about httpx, raised on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from bastion.api.app import create_app
from bastion.api.keys import create_key
from bastion.api.state import ApiConfig
from bastion.audit.evidence import EvidenceStore
from bastion.settings import Settings

ROLES = ("integrator", "reviewer", "security", "admin")
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


def benign_png(seed: int = 0) -> bytes:
    """A landscape of simple shapes: stands in for banked media (never real violent media)."""
    img = Image.new("RGB", (320, 200), (120 + seed, 170, 220))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 140, 320, 200), fill=(70, 140, 80))
    d.ellipse((230, 25, 290, 85), fill=(250, 210, 80))
    d.polygon([(40, 140), (110, 60), (180, 140)], fill=(110, 110, 120))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@dataclass
class World:
    app: Any
    client: TestClient
    keys: dict[str, str]
    image_sha: str
    extra: dict[str, Any] = field(default_factory=dict)

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_app(db_url: str, *, webhook: bool = True, **config: Any) -> Any:
    stub.register()
    # removal, appeal and reversal run through the propaganda rule, made live here as a deployment may do
    # (the shipped policy keeps text-only removal in shadow)
    settings = Settings.load(db_url=db_url, detectors=stub.NAME, live_rules=["propaganda-remove"],
                             webhook_url="http://127.0.0.1:9/platform-hook" if webhook else None)
    return create_app(settings, config=ApiConfig(**config))


def build(db_url: str, *, webhook: bool = True, **config: Any) -> World:
    app = make_app(db_url, webhook=webhook, **config)
    engine = app.state.bastion.engine
    now = datetime.now(UTC)
    names = {"integrator": "platform", "reviewer": "ana", "security": "sam", "admin": "root"}
    keys = {r: create_key(engine, r, name=names[r], now=now)[1] for r in ROLES}
    keys["reviewer2"] = create_key(engine, "reviewer", name="ben", now=now)[1]
    client = TestClient(app)
    w = World(app, client, keys, "")
    png = benign_png()
    w.image_sha = hashlib.sha256(png).hexdigest()
    EvidenceStore(engine).put(png, "image/png", subject_kind="post", subject_id="p-media", role="media")
    seed_records(w, now)
    return w


def seed_records(w: World, now: datetime) -> None:
    h = w.h("integrator")
    accounts = [{"id": "u-alpha", "handle": "alpha_news", "display_name": "Alpha", "bio": "Posts things. " + XSS,
                 "location": "Somewhere", "created_at": (now - timedelta(days=400)).isoformat(), "followers": 120},
                {"id": "u-beta", "handle": "beta_b", "display_name": "Beta", "bio": "Another account",
                 "created_at": (now - timedelta(days=30)).isoformat(), "followers": 8},
                {"id": "u-gamma", "handle": "gamma_g", "display_name": "Gamma", "bio": "Quiet",
                 "created_at": (now - timedelta(days=3)).isoformat()}]
    r = w.client.post("/v1/accounts/batch", json={"items": accounts}, headers=h)
    assert r.status_code == 200, r.text
    posts = [
        {"id": "p-remove", "account_id": "u-alpha", "text": "Look at ZZORG here " + XSS,
         "created_at": (now - timedelta(minutes=30)).isoformat()},
        {"id": "p-media", "account_id": "u-alpha", "text": "QQSLOGAN with a picture #sunrise",
         "media": [{"id": "m1", "kind": "image", "sha256": w.image_sha}],
         "created_at": (now - timedelta(minutes=20)).isoformat()},
        {"id": "p-camp1", "account_id": "u-beta", "text": "QQSLOGAN one #campaignx",
         "created_at": (now - timedelta(minutes=15)).isoformat()},
        {"id": "p-camp2", "account_id": "u-gamma", "text": "QQSLOGAN two #campaignx",
         "created_at": (now - timedelta(minutes=14)).isoformat()},
        {"id": "p-camp3", "account_id": "u-gamma", "text": "QQSLOGAN three #campaignx",
         "created_at": (now - timedelta(minutes=13)).isoformat()},
        {"id": "p-plain", "account_id": "u-beta", "text": "An ordinary post about bread",
         "created_at": (now - timedelta(minutes=10)).isoformat()},
        {"id": "p-ordered", "account_id": "u-beta", "text": "Reported by an authority",
         "created_at": (now - timedelta(minutes=9)).isoformat()},
    ]
    r = w.client.post("/v1/posts/batch", json={"items": posts}, headers=h)
    assert r.status_code == 200 and not r.json()["errors"], r.text
    reports = [{"id": "rep-user", "target_id": "p-plain", "reporter_kind": "user", "reason": "looks off",
                "created_at": (now - timedelta(minutes=8)).isoformat()},
               {"id": "rep-order", "target_id": "p-ordered", "reporter_kind": "authority",
                "reason": "removal order 2026/17", "created_at": (now - timedelta(minutes=5)).isoformat()}]
    r = w.client.post("/v1/reports/batch", json={"items": reports}, headers=h)
    assert r.status_code == 200, r.text
    w.extra["case_id"] = seed_case(w, now)


def seed_case(w: World, now: datetime) -> str | None:
    """A security case about the ZZORG post, when the threats capability is installed."""
    try:
        from bastion.threats.cases import CaseStore
    except ImportError:
        return None
    engine = w.app.state.bastion.engine
    store = CaseStore(engine, clock=lambda: now)
    with engine.begin() as conn:
        case_id = store.open_case(conn, post_id="p-remove", account_id="u-alpha", severity=0.8, level="high",
                                  assets=["head office"], hashtags=[], fingerprint=[], actor="test",
                                  summary={"seeded": True})
        store.add_json(conn, case_id, "post", "p-remove", {"id": "p-remove", "text": "Look at ZZORG here"},
                       actor="test")
    return str(case_id)

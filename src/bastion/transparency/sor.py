"""DSA statements of reasons (Art. 17, 24(5)) in the EU Transparency Database's API schema, one per
enforcement in the ledger, as JSON Lines ready for its ``/api/v1/statements`` endpoint (100 per call).

Field names and enumerations follow the database's API documentation (``decision_visibility``,
``decision_account``, ``decision_ground``, ``content_type``, ``category``, ``territorial_scope``,
``source_type``, ``automated_detection``, ``automated_decision``, ``puid``...). The database forbids
personal data, so a statement carries no user content, handle or reporter identity: the facts name the rule,
the policy and how the item was found. ``puid`` is the ledger entry (unique and stable). Categories Bastion's
rules use map onto the database's current list (``SCOPE_OF_PLATFORM_SERVICE`` became
``STATEMENT_CATEGORY_OTHER_VIOLATION_TC``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from bastion.store import schema as t
from bastion.store.api import review_decisions

#: EU member states and EEA countries (the database's territorial scope codes); a removal is platform-wide.
EEA = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT",
       "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK")
CATEGORY = {"STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"}
KEYWORDS = {"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": ["KEYWORD_TERRORIST_CONTENT"]}
SOURCE_TYPE = {"automated": "SOURCE_VOLUNTARY", "user_report": "SOURCE_ARTICLE_16",
               "trusted_flagger": "SOURCE_TRUSTED_FLAGGER", "authority": "SOURCE_TYPE_OTHER_NOTIFICATION"}
VISIBILITY = {"remove_post": "DECISION_VISIBILITY_CONTENT_REMOVED",
              "detrend_hashtag": "DECISION_VISIBILITY_CONTENT_DEMOTED",
              "restrict_hashtag": "DECISION_VISIBILITY_CONTENT_DEMOTED"}
TOS_GROUND = "Terms of service: terrorist and violent extremist content, threats, ban evasion"
TCO_GROUND = "Regulation (EU) 2021/784 on addressing the dissemination of terrorist content online, Art. 3"
PUID_OK = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


class _Human:
    """A human review decision as a statement sees it: a category, no automated explanation."""

    def __init__(self, category: str | None) -> None:
        self.category = category
        self.explanation = None


def _date(dt: datetime | None) -> str | None:
    return dt.date().isoformat() if dt is not None else None


def _lang(code: str | None) -> str | None:
    return code.upper() if code and len(code) == 2 and code.isalpha() else None


def statement(row: Any, *, decision: Any | None, post: Any | None, account: Any | None,
              authority: bool) -> dict[str, Any]:
    rule = str(row.rule).split("@", 1)[0]
    category = (decision.category if decision is not None and decision.category else
                "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY")
    category = CATEGORY.get(category, category)
    s: dict[str, Any] = {}
    if row.action == "suspend_account":
        s["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
        s["content_type"] = ["CONTENT_TYPE_OTHER"]
        s["content_type_other"] = "User account"
        content_date = account.created_at if account is not None else None
    else:
        s["decision_visibility"] = [VISIBILITY.get(row.action, "DECISION_VISIBILITY_OTHER")]
        kinds = {"CONTENT_TYPE_TEXT"}
        for m in (post.media or []) if post is not None else []:
            kinds.add("CONTENT_TYPE_VIDEO" if m.get("kind") == "video" else "CONTENT_TYPE_IMAGE")
        s["content_type"] = sorted(kinds)
        content_date = post.created_at if post is not None else None
    s["account_type"] = "ACCOUNT_TYPE_PRIVATE"
    how = ("found by automated detection" if row.source == "automated" else
           {"user_report": "reported by a user", "trusted_flagger": "reported by a trusted flagger",
            "authority": "named in a competent authority's removal order"}.get(str(row.source), "reported"))
    by = "decided automatically" if row.automated else "decided by a human reviewer"
    facts = f"The {'account' if row.action == 'suspend_account' else 'content'} was {how} and {by} " \
            f"under rule {rule} of policy {row.policy}."
    if authority:
        s["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        s["illegal_content_legal_ground"] = TCO_GROUND
        s["illegal_content_explanation"] = "A removal order identified the content as terrorist content."
    else:
        s["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        s["incompatible_content_ground"] = TOS_GROUND
        explanation = decision.explanation if decision is not None and decision.explanation else facts
        s["incompatible_content_explanation"] = explanation[:2000]
    s["category"] = category
    if category in KEYWORDS:
        s["category_specification"] = KEYWORDS[category]
    s["territorial_scope"] = list(EEA)
    lang = _lang(post.lang) if post is not None else None
    if lang:
        s["content_language"] = lang
    s["content_date"] = _date(content_date) if content_date and content_date.year >= 2000 else _date(row.created_at)
    s["application_date"] = _date(row.created_at)
    if row.reversed_at is not None:
        key = "end_date_account_restriction" if row.action == "suspend_account" else "end_date_visibility_restriction"
        s[key] = _date(row.reversed_at)
    s["decision_facts"] = facts[:5000]
    s["source_type"] = SOURCE_TYPE.get(str(row.source), "SOURCE_VOLUNTARY")
    s["automated_detection"] = "Yes" if row.source == "automated" else "No"
    s["automated_decision"] = "AUTOMATED_DECISION_FULLY" if row.automated else "AUTOMATED_DECISION_NOT_AUTOMATED"
    puid = f"bastion-{row.seq}-{row.decision_id}"
    s["puid"] = puid if PUID_OK.match(puid) else f"bastion-{row.seq}"
    return s


def iter_statements(engine: Engine, *, since: datetime | None = None, until: datetime | None = None,
                    batch: int = 500) -> Iterator[dict[str, Any]]:
    L = t.ledger
    stmt = select(L).where(L.c.action.in_((*VISIBILITY, "suspend_account"))).order_by(L.c.seq)
    if since is not None:
        stmt = stmt.where(L.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(L.c.created_at <= until)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
        for i in range(0, len(rows), batch):
            chunk = rows[i:i + batch]
            dids = list({r.decision_id for r in chunk})
            pids = list({r.target_id for r in chunk if r.target_kind == "post"})
            aids = list({r.target_id for r in chunk if r.target_kind == "account"})
            decisions: dict[str, Any] = {d.id: d for d in conn.execute(select(t.decisions.c.id, t.decisions.c.category,
                                                              t.decisions.c.explanation)
                                                       .where(t.decisions.c.id.in_(dids)))}
            for rv in conn.execute(select(review_decisions.c.id, review_decisions.c.category)
                                   .where(review_decisions.c.id.in_(dids))):
                decisions[rv.id] = _Human(rv.category)
            posts = {p.id: p for p in conn.execute(select(t.posts.c.id, t.posts.c.created_at, t.posts.c.lang,
                                                          t.posts.c.media).where(t.posts.c.id.in_(pids)))}
            accounts = {a.id: a for a in conn.execute(select(t.accounts.c.id, t.accounts.c.created_at)
                                                      .where(t.accounts.c.id.in_(aids)))}
            for r in chunk:
                yield statement(r, decision=decisions.get(r.decision_id),
                                post=posts.get(r.target_id) if r.target_kind == "post" else None,
                                account=accounts.get(r.target_id) if r.target_kind == "account" else None,
                                authority=r.source == "authority")

"""Export a security case as a referral package for law enforcement, and verify one.

``bastion case export ID --out DIR`` writes ``DIR/<case id>/``:

* ``package.json`` - structured like a law-enforcement referral (reporter, incident, subject account,
  content, timestamps with zone, hashes) plus the fields an EU DSA Article 18 notification of a suspected
  criminal offence involving a threat to life or safety needs (suspected offence, reasons, the information
  concerned, persons and Member States concerned, time, provider and contact point);
* ``report.html`` - the same, readable by a person;
* ``blobs/<sha256>`` - every evidence blob, named by its hash;
* ``custody.jsonl`` - the case's hash-chained chain of custody, the export itself included.

:func:`verify_package` recomputes every blob's hash and the custody chain; any edit shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Engine

from bastion.errors import InputError, NotFound
from bastion.threats.cases import CaseStore, Clock, utcnow
from bastion.threats.custody import verify_chain

FORMAT = "bastion-case-referral/1"
DEFAULT_REPORTER = {
    "organisation": "the platform's trust and safety team",
    "contact": "security@example.org",
    "queue": "security",
}


def _blob_summary(item: Any, data: bytes | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": item.role,
        "subject_id": item.subject_id,
        "sha256": item.sha256,
        "media_type": item.media_type,
        "size": item.size,
        "added_at": item.added_at.isoformat(),
        "file": f"blobs/{item.sha256}",
    }
    if data is None:
        out["file"] = None
        out["purged"] = True
    return out


def _content(item: Any, data: bytes | None) -> dict[str, Any] | None:
    if data is None or item.media_type != "application/json":
        return None
    obj = json.loads(data)
    post = obj.get("post", obj) if isinstance(obj, dict) else {}
    if not isinstance(post, dict) or "text" not in post:
        return None
    return {
        "post_id": post.get("id"),
        "role": item.role,
        "text": post.get("text"),
        "created_at": post.get("created_at"),
        "lang": post.get("lang"),
        "hashtags": post.get("hashtags"),
        "urls": post.get("urls"),
        "sha256": item.sha256,
    }


def build_package(store: CaseStore, case_id: str, reporter: dict[str, str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    case = store.get(case_id)
    blobs: dict[str, bytes] = {}
    evidence, content = [], []
    profile: dict[str, Any] | None = None
    signals: dict[str, Any] = {}
    for item in case.items:
        try:
            data: bytes | None = store.evidence.get(item.sha256)
        except NotFound:
            data = None
        if data is not None:
            blobs[item.sha256] = data
        evidence.append(_blob_summary(item, data))
        if item.role in ("post", "related", "report_context", "thread") and (c := _content(item, data)):
            content.append(c)
        if item.role == "profile" and data is not None:
            profile = json.loads(data)
        if item.role == "detector_output" and data is not None and not signals:
            signals = json.loads(data).get("signals", {})
    sev = signals.get("threat_severity", {}).get("details", {})
    extraction = sev.get("extraction", {})
    now = store.clock()
    reasons = [
        f"threat probability {signals.get('threat', {}).get('value')}",
        f"severity {case.level} ({case.severity:.2f})",
        *(f"factor {k}: {v}" for k, v in sev.get("factors", {}).items()),
    ]
    countries = sorted({str(p["country"]) for p in sev.get("asset_places", []) if p.get("country")})
    package = {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "timezone": "UTC",
        "reporter": reporter,
        "incident": {
            "case_id": case.id,
            "type": "threat of violence",
            "queue": case.queue,
            "status": case.status,
            "severity": case.level,
            "severity_score": round(case.severity, 4),
            "assets": list(case.assets),
            "hashtags": list(case.hashtags),
            "opened_at": case.created_at.isoformat(),
            "sla_due": case.sla_due.isoformat(),
            "legal_hold": case.legal_hold,
            "retain_until": case.retain_until.isoformat() if case.retain_until else None,
            "extraction": extraction,
        },
        "subject_account": profile or {"id": case.subject_account_id},
        "content": content,
        "evidence": evidence,
        "dsa_article_18": {
            "legal_basis": "Regulation (EU) 2022/2065 (Digital Services Act), Article 18",
            "suspected_offence": "threat to the life or safety of persons (threat to commit a terrorist "
            "offence, Directive (EU) 2017/541 Art. 3(1)(j), where applicable)",
            "reasons_for_suspicion": reasons,
            "information_concerned": [c["post_id"] for c in content if c["role"] == "post"],
            "persons_concerned": list(case.assets),
            "places_concerned": extraction.get("place", []),
            "countries_concerned": countries,
            "time_of_information": case.created_at.isoformat(),
            "time_of_notification": now.isoformat(),
            "hosting_service_provider": reporter.get("organisation"),
            "contact_point": reporter.get("contact"),
        },
    }
    return package, blobs


_HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case {{ p.incident.case_id }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{border:1px solid #ccc;padding:.3em;
vertical-align:top;text-align:left}table{border-collapse:collapse;width:100%}.mono{font-family:monospace;
font-size:.85em;word-break:break-all}</style></head><body>
<h1>Security case {{ p.incident.case_id }}</h1>
<p>Generated {{ p.generated_at }} (all times {{ p.timezone }}) by {{ p.reporter.organisation }},
contact {{ p.reporter.contact }}.</p>
<h2>Incident</h2><table>
<tr><th>Type</th><td>{{ p.incident.type }}</td></tr>
<tr><th>Severity</th><td>{{ p.incident.severity }} ({{ p.incident.severity_score }})</td></tr>
<tr><th>Protected assets</th><td>{{ p.incident.assets|join(", ") }}</td></tr>
<tr><th>Hashtags</th><td>{{ p.incident.hashtags|join(", ") }}</td></tr>
<tr><th>Opened</th><td>{{ p.incident.opened_at }}</td></tr><tr><th>SLA due</th><td>{{ p.incident.sla_due }}</td></tr>
<tr><th>Legal hold</th><td>{{ p.incident.legal_hold }}</td></tr>
{% for k, v in p.incident.extraction.items() %}<tr><th>{{ k }}</th>
<td>{{ v|join(", ") if v is iterable and v is not string else v }}</td></tr>{% endfor %}
</table>
<h2>Subject account</h2><table>{% for k, v in p.subject_account.items() %}
<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>Content</h2><table><tr><th>Role</th><th>Post</th><th>Created</th><th>Text</th><th>SHA-256</th></tr>
{% for c in p.content %}<tr><td>{{ c.role }}</td><td>{{ c.post_id }}</td><td>{{ c.created_at }}</td>
<td>{{ c.text }}</td><td class="mono">{{ c.sha256 }}</td></tr>{% endfor %}</table>
<h2>DSA Article 18 notification</h2><table>{% for k, v in p.dsa_article_18.items() %}
<tr><th>{{ k|replace("_", " ") }}</th><td>{{ v|join("; ") if v is iterable and v is not string else v }}</td></tr>
{% endfor %}</table>
<h2>Evidence</h2><table><tr><th>Role</th><th>Subject</th><th>Type</th><th>Size</th><th>SHA-256</th></tr>
{% for e in p.evidence %}<tr><td>{{ e.role }}</td><td>{{ e.subject_id }}</td><td>{{ e.media_type }}</td>
<td>{{ e.size }}</td><td class="mono">{{ e.sha256 }}{% if e.purged %} (purged){% endif %}</td></tr>{% endfor %}
</table>
<h2>Chain of custody</h2><table><tr><th>#</th><th>Time</th><th>Actor</th><th>Event</th><th>Hash</th></tr>
{% for c in custody %}<tr><td>{{ c.seq }}</td><td>{{ c.ts }}</td><td>{{ c.actor }}</td><td>{{ c.event }}</td>
<td class="mono">{{ c.hash }}</td></tr>{% endfor %}</table>
</body></html>
""")


def export_case(
    engine: Engine,
    case_id: str,
    out_dir: Path,
    *,
    actor: str,
    clock: Clock = utcnow,
    reporter: dict[str, str] | None = None,
    store: CaseStore | None = None,
) -> Path:
    """Write the referral package; the export is recorded in the custody log before the log is written."""
    store = store or CaseStore(engine, clock=clock)
    package, blobs = build_package(store, case_id, reporter or DEFAULT_REPORTER)
    dest = out_dir / case_id
    (dest / "blobs").mkdir(parents=True, exist_ok=True)
    for sha, data in blobs.items():
        (dest / "blobs" / sha).write_bytes(data)
    store.record(case_id, "exported", actor, {"destination": dest.name, "blobs": len(blobs)})
    custody = store.custody(case_id)
    package["custody"] = {"entries": len(custody), "head": custody[-1]["hash"] if custody else None}
    (dest / "package.json").write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", "utf-8")
    with (dest / "custody.jsonl").open("w", encoding="utf-8") as fh:
        for entry in custody:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    (dest / "report.html").write_text(_HTML.render(p=package, custody=custody), "utf-8")
    digest = write_manifest(dest)
    # the platform's own log keeps the sealed package's digest: a recipient can confirm the copy they hold
    store.record(case_id, "export_sealed", actor, {"destination": dest.name, "manifest_sha256": digest})
    return dest


MANIFEST = "MANIFEST.sha256"


def _package_files(path: Path) -> list[str]:
    return sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file() and f.name != MANIFEST)


def write_manifest(path: Path) -> str:
    """``MANIFEST.sha256`` (``sha256sum`` format) over every file of the package; returns the manifest's own
    SHA-256, which the case's custody log records."""
    lines = [f"{hashlib.sha256((path / rel).read_bytes()).hexdigest()}  {rel}\n" for rel in _package_files(path)]
    body = "".join(lines).encode()
    (path / MANIFEST).write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def _check_manifest(path: Path, check: PackageCheck, digests: Mapping[str, str]) -> None:
    manifest = path / MANIFEST
    if not manifest.is_file():
        check.problems.append(f"{MANIFEST} is missing (every file of the package is listed there with its hash)")
        return
    body = manifest.read_bytes()
    check.manifest_sha256 = hashlib.sha256(body).hexdigest()
    listed: dict[str, str] = {}
    for n, line in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
        sha, sep, rel = line.partition("  ")
        if not sep or len(sha) != 64:
            check.problems.append(f"{MANIFEST} line {n}: not '<sha256>  <file>' (altered)")
            continue
        listed[rel] = sha
    for rel in sorted(set(digests) - set(listed)):
        check.problems.append(f"{rel} is not in {MANIFEST} (added)")
    for rel, sha in sorted(listed.items()):
        if rel not in digests:
            check.problems.append(f"{rel} is listed in {MANIFEST} but missing (removed)")
        elif digests[rel] != sha:
            check.problems.append(f"{rel} does not match its hash in {MANIFEST} (altered)")


@dataclass
class PackageCheck:
    blobs: int = 0
    custody_entries: int = 0
    problems: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def package_dir(path: Path) -> Path:
    """The package at ``path``, or the one package directly inside it (``case export --out DIR`` writes
    ``DIR/<case id>/``)."""
    def is_package(d: Path) -> bool:
        return (d / "package.json").is_file() or (d / MANIFEST).is_file()

    if is_package(path):
        return path
    inside = [d for d in path.iterdir() if is_package(d)] if path.is_dir() else []
    if len(inside) == 1:
        return inside[0]
    if inside:
        raise InputError(f"{path} holds {len(inside)} case packages; name one: "
                         + ", ".join(sorted(d.name for d in inside)))
    raise InputError(f"{path} is not a case package (no package.json)")


def verify_package(path: Path) -> PackageCheck:
    """Every file matches the package's manifest; every blob's hash matches its name and the package's record;
    the custody chain is intact and ends at the head the package recorded."""
    path = package_dir(path)
    pkg_file = path / "package.json"
    check = PackageCheck()
    # every file read and hashed once, for the manifest and the evidence list alike
    digests = {rel: hashlib.sha256((path / rel).read_bytes()).hexdigest() for rel in _package_files(path)}
    _check_manifest(path, check, digests)
    if not pkg_file.is_file():
        return check  # the manifest check has said package.json is missing
    try:
        package = json.loads(pkg_file.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        check.problems.append(f"package.json is not valid JSON: {exc}")
        return check
    for e in package.get("evidence", []):
        if e.get("purged"):
            continue
        actual = digests.get(f"blobs/{e['sha256']}")
        if actual is None:
            check.problems.append(f"blob {e['sha256']} ({e['role']}) is missing")
            continue
        check.blobs += 1
        if actual != e["sha256"]:
            check.problems.append(f"blob {e['sha256']} ({e['role']}) does not match its hash (altered)")
    for c in package.get("content", []):
        if not any(e["sha256"] == c.get("sha256") for e in package.get("evidence", [])):
            check.problems.append(f"content of post {c.get('post_id')} refers to no evidence blob")
    entries = []
    custody_file = path / "custody.jsonl"
    if not custody_file.is_file():
        check.problems.append("custody.jsonl is missing")
    else:
        for n, line in enumerate(custody_file.read_text("utf-8").splitlines(), 1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                check.problems.append(f"custody.jsonl line {n}: not valid JSON (altered)")
    check.custody_entries = len(entries)
    head = (package.get("custody") or {}).get("head")
    check.problems.extend(verify_chain(entries, head))
    if entries and package.get("incident", {}).get("case_id") != entries[0].get("case_id"):
        check.problems.append("custody log belongs to another case")
    return check

"""What one Spark task does with its lines, in plain Python: parse, quarantine, detect, decide.

The function is the same one a test calls without Spark, so what a cluster decides can be checked line for line
against ``bastion scan``: records are parsed by the native reader's own ``record_from`` (a bad line is
quarantined with its file, line, field and reason, exactly as ``bastion scan`` reports it), posts are scored in
batches by the run's per-post detectors and decided by the unchanged policy engine at the run's fixed time, so
decision ids (post, content digest, policy version) are the same on every worker and on every retry.

A post id seen again with other content is the post's next version and is decided as such, as ``bastion scan``
does - with one difference: scan keeps only the first version when both fall in one of its batches (it dedupes
a batch by id), while here every version is decided wherever its lines fall, so the result does not depend on
how the input is split.

Only detectors without state run per post (``Detector.pure``: lexicon, propaganda, threat, media). Detectors
that need every post of an account or hashtag in one place run on Spark's own operators after the scoring, from
rows the tasks emit here: account risk (:class:`AccountRows`, :mod:`bastion.spark.accounts`) and campaigns
(:class:`CampaignRows`, :mod:`bastion.spark.campaigns`) and ban evasion (:class:`EvasionRows`,
:mod:`bastion.spark.evasion`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.errors import InputError
from bastion.ingest.base import Quarantined, parse_json_line, quarantine
from bastion.ingest.native import record_from
from bastion.ingest.tabular import corpus_records
from bastion.records import Post, Record, Report
from bastion.spark import columns, manifest

if TYPE_CHECKING:
    from bastion.accounts.ban_evasion import BanEvasionDetector
    from bastion.campaigns.detector import CampaignDetector
    from bastion.detector import PostContext
    from bastion.policy.model import Decision
    from bastion.signals import Signal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the account detector's time for a post without one
#: The columns every task returns (one row per decision or quarantined line; other records are counted).
SPARK_SCHEMA = ("kind string, id string, subject_id string, date string, decision string, digest string, "
                "file string, line long, record_id string, field string, reason string, raw string, "
                "account string, value double, at double")
COLUMNS = tuple(columns(SPARK_SCHEMA))
#: The detectors whose work runs on Spark's own operators after the per-post scoring
ACCOUNT_STAGE = "account_risk"  # :mod:`bastion.spark.accounts`
CAMPAIGN_STAGE = "campaign"  # :mod:`bastion.spark.campaigns`
EVASION_STAGE = "ban_evasion"  # :mod:`bastion.spark.evasion`
STAGES = (ACCOUNT_STAGE, CAMPAIGN_STAGE, EVASION_STAGE)
#: Runs per post in the tasks, but counts flood quarantines in the job's flood stage (:mod:`bastion.spark.media`)
MEDIA = "media"
DEFAULT_DETECTORS = "lexicon,propaganda,threat"
@dataclass(frozen=True)
class BadUnit:
    """One unit of a line that could not be converted (a status in a page): quarantined alone, as ``bastion
    scan`` quarantines it, while the line's other units go on."""

    error: Exception
    preview: str


def _units(reader: Any) -> Callable[[Any], Sequence[Record | BadUnit]]:
    """A platform reader's own ``units`` and ``convert`` (:class:`bastion.ingest.social.JsonValuesReader`) as a
    parser of one JSON value: its records, and a :class:`BadUnit` for each unit it cannot convert."""

    def parse(value: Any) -> list[Record | BadUnit]:
        out: list[Record | BadUnit] = []
        for unit in reader.units(value):
            try:
                out.extend(reader.convert(unit))
            except Exception as exc:
                out.append(BadUnit(exc, repr(unit)[:500]))
        return out

    return parse


def _line_formats() -> dict[str, Callable[[Any], Sequence[Record | BadUnit]]]:
    from bastion.ingest.activitypub import ActivityPubReader
    from bastion.ingest.social import MastodonReader, TwitterV1Reader, TwitterV2Reader

    return {
        "native": lambda obj: [record_from(obj)],
        "corpus": corpus_records,
        "parquet": lambda obj: [record_from(obj)],  # native records as Parquet rows, each read as its JSON object
        # the platforms' JSON Lines (a streaming API's output: a status, a page or an activity per line)
        **{r.name: _units(r) for r in (TwitterV1Reader(), TwitterV2Reader(), MastodonReader(), ActivityPubReader())},
    }


#: Formats read line by line (one JSON value per line), by name, as ``bastion scan --format`` names them.
LINE_FORMATS: dict[str, Callable[[Any], Sequence[Record | BadUnit]]] = _line_formats()


@dataclass(frozen=True)
class Config:
    """What every task needs to build its detectors and policy: plain values, shipped to the workers."""

    now: str  # ISO time every decision of the run is made at
    detectors: str = DEFAULT_DETECTORS
    format: str = "native"  # a line format: native records or the evaluation corpus layout
    policy: str | None = None
    assets: str | None = None
    db_url: str | None = None  # where the media detector reads its hash banks
    live_rules: tuple[str, ...] = ()
    detector_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = json.loads(text)
        data["live_rules"] = tuple(data.get("live_rules") or ())
        return cls(**data)


class Scorer:
    """A task's detectors and policy engine, built once per Python worker (see :func:`scorer`)."""

    def __init__(self, config: Config) -> None:
        from bastion import catalogue
        from bastion.policy.engine import PolicyEngine
        from bastion.policy.loader import load_policy
        from bastion.settings import Settings

        self.config = config
        names = catalogue.parse_names(config.detectors)
        settings = Settings(db_url=config.db_url, policy=config.policy, detectors=config.detectors,
                            assets=config.assets, live_rules=config.live_rules,
                            detector_options={k: dict(v) for k, v in config.detector_options.items()})
        if MEDIA in names:  # media matches per post; the job counts floods over all of them (the flood stage)
            settings.detector_options[MEDIA] = {**settings.detector_options.get(MEDIA, {}), "observe_floods": False}
        self.detectors = catalogue.build([n for n in names if n not in STAGES], settings.detector_options,
                                         settings)
        self.media = MediaRows(next(d for d in self.detectors if d.name == MEDIA)) if MEDIA in names else None
        # account risk: the tasks emit each post's strike and interactions, each profile and suspension; the
        # job's account stage (Spark operators) puts them together per account
        self.accounts = AccountRows(config) if ACCOUNT_STAGE in names else None
        # campaigns: the tasks emit each post's hashtags and scores, each author and suspension; the job's
        # campaign stage runs the campaign engine per hashtag
        self.campaign: CampaignRows | None = None
        if CAMPAIGN_STAGE in names:
            from bastion.campaigns.detector import CampaignDetector

            det = catalogue.build([CAMPAIGN_STAGE], settings.detector_options, settings)[0]
            assert isinstance(det, CampaignDetector)
            self.campaign = CampaignRows(det, datetime.fromisoformat(config.now).timestamp())
        # ban evasion: the tasks emit each account's fingerprint and each post's posting style; the job's
        # evasion stage looks registrations up against the suspended accounts' fingerprints by joins
        self.evasion: EvasionRows | None = None
        if EVASION_STAGE in names:
            from bastion.accounts.ban_evasion import BanEvasionDetector

            found = catalogue.build([EVASION_STAGE], settings.detector_options, settings)[0]
            assert isinstance(found, BanEvasionDetector)
            self.evasion = EvasionRows(found)
        # suspensions and reinstatements, read by every stage above (:func:`enforced_rows`)
        self.enforcement = self.accounts is not None or self.campaign is not None or self.evasion is not None
        stateful = [d.name for d in self.detectors if not d.pure and d.name != MEDIA]
        if stateful:
            raise InputError(f"detector(s) {', '.join(stateful)} keep state across posts and do not run per post "
                             "on Spark; choose among the per-post detectors (lexicon, propaganda, threat, "
                             f"media) and {ACCOUNT_STAGE}, {CAMPAIGN_STAGE}, {EVASION_STAGE} (the job's own "
                             "stages)")
        if config.format not in LINE_FORMATS:
            raise InputError(f"format {config.format!r} is not read line by line on Spark; choose one of "
                             f"{', '.join(LINE_FORMATS)}")
        self.parse = LINE_FORMATS[config.format]
        self.engine = PolicyEngine(load_policy(config.policy).promote(config.live_rules))
        self.now = datetime.fromisoformat(config.now)

    def score_lines(self, lines: Iterable[tuple[str, int, str]]) -> list[dict[str, Any]]:
        """Rows for ``(file, line number, text)`` input lines: a ``decision`` row per post and per report, a
        ``quarantine`` row per bad line; blank lines and other records give none (but the account stage's rows,
        when it runs)."""
        from bastion.detector import PostContext, run_detectors
        from bastion.policy.model import Subject

        rows: list[dict[str, Any]] = []
        reports: dict[str, tuple[Report, str]] = {}
        posts: dict[tuple[str, str], Post] = {}
        raws: dict[tuple[str, str], str] = {}
        where: dict[tuple[str, str], tuple[str, int]] = {}
        for file, n, text in lines:
            if not text.strip():
                continue
            try:
                records = self.parse(parse_json_line(text.encode("utf-8")))
            except Exception as exc:  # one bad line is quarantined; the task goes on
                rows.append(_quarantine_row(quarantine(Path(file), n, exc, text)))
                continue
            for record in records:
                if isinstance(record, BadUnit):
                    rows.append(_quarantine_row(quarantine(Path(file), n, record.error, record.preview)))
                elif isinstance(record, Post):  # each version of a post once, wherever its lines fall
                    key = (record.id, record.content_digest())
                    if key not in posts:
                        posts[key] = record
                        raws[key] = text  # the line itself travels with the decision, for `spark load`
                        where[key] = (file, n)
                elif isinstance(record, Report):
                    reports.setdefault(record.id, (record, text))
                else:
                    if self.accounts is not None:
                        rows.extend(self.accounts.record(record, file, n))
                    if self.campaign is not None:
                        rows.extend(self.campaign.record(record, file, n))
                    if self.evasion is not None:
                        rows.extend(self.evasion.record(record, file, n))
                    if self.enforcement:
                        rows.extend(enforced_rows(record, file, n))
        contexts = [PostContext(p) for p in posts.values()]
        if contexts and self.detectors:
            run_detectors(self.detectors, contexts, {})
        for ctx in contexts:
            post = ctx.post
            d = self._decide(ctx)
            day = (post.created_at or self.now).date().isoformat()
            text = json.dumps(d.to_record(), sort_keys=True, default=str)
            key = (post.id, post.content_digest())
            rows.append({"kind": "decision", "id": d.id, "subject_id": post.id, "date": day, "decision": text,
                         "digest": manifest.digest(text), "raw": raws[key]})
            if self.accounts is not None:
                rows.extend(self.accounts.post(post, d, ctx.signals, *where[key]))
            if self.campaign is not None:
                rows.extend(self.campaign.post(ctx, d, *where[key]))
            if self.evasion is not None:
                rows.extend(self.evasion.post(post, d, *where[key]))
            if self.media is not None:
                rows.extend(self.media.post(ctx, d, self.now, *where[key]))
        for report, text in reports.values():  # a report's own decision, as `bastion scan` makes it
            d = self.engine.decide(Subject.REPORT, report.id, {}, now=self.now, reporter=report.reporter_kind.value,
                                   account_id=report.target_id if report.target_kind.value == "account" else None)
            made = json.dumps(d.to_record(), sort_keys=True, default=str)
            rows.append({"kind": "decision", "id": d.id, "subject_id": report.id,
                         "date": report.created_at.date().isoformat(), "decision": made,
                         "digest": manifest.digest(made), "raw": text})
        return rows

    def _decide(self, ctx: PostContext) -> Decision:
        from bastion.policy.engine import resolve_params
        from bastion.policy.model import Subject

        post = ctx.post
        return resolve_params(self.engine.decide(Subject.POST, post.id, ctx.signals, now=self.now,
                                                 account_id=post.account_id, content=post.content_digest()),
                              ctx.signals)

    def decide_again(self, items: Sequence[Amended]) -> list[Decision]:
        """Posts decided again, each from its input line as its job's stages amended it: the line's post (by
        id and content digest) through the same detectors - with the bank entries a flood quarantined for it
        treated as quarantined - then the stages' signals, then the policy, as its first decision was made (not
        rebuilt from that decision, which keeps only the telling signals)."""
        from bastion.detector import PostContext, run_detectors

        contexts = []
        for item in items:
            found = [r for r in self.parse(parse_json_line(item.raw.encode("utf-8")))
                     if isinstance(r, Post) and str(r.id) == item.post_id and r.content_digest() == item.content]
            if not found:
                raise InputError(f"post {item.post_id}: not in its own input line any more")
            contexts.append(PostContext(found[0]))
        groups: dict[frozenset[int], list[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault(item.quarantine, []).append(i)
        for entries, where in groups.items():
            with self._quarantined(entries):
                if self.detectors:
                    run_detectors(self.detectors, [contexts[i] for i in where], {})
        for ctx, item in zip(contexts, items, strict=True):
            ctx.signals.update({s.name: s for s in item.signals})
        return [self._decide(ctx) for ctx in contexts]

    @contextmanager
    def _quarantined(self, entries: frozenset[int]) -> Iterator[None]:
        """The media detector's bank entries ``entries`` quarantined while the block runs."""
        if not entries or self.media is None:
            yield
            return
        from bastion.media.banks.model import EntryStatus

        bankset = self.media.detector.bankset
        before = {e: bankset.entries[e] for e in entries if e in bankset.entries}
        try:
            for e in before:
                bankset.set_status(e, EntryStatus.QUARANTINED, "flood (Spark's flood stage)")
            yield
        finally:
            bankset.entries.update(before)


@dataclass(frozen=True)
class Amended:
    """A post to decide again (:meth:`Scorer.decide_again`): its input line, id and content digest, the
    signals the job's stages add, and the bank entries quarantined for it."""

    raw: str
    post_id: str
    content: str
    signals: Sequence[Signal] = ()
    quarantine: frozenset[int] = frozenset()


class MediaRows:
    """What a task contributes to the flood stage (:mod:`bastion.spark.media`), as rows: ``matched``, one per
    bank entry a post's media matched as evidence - ``account`` the entry, ``reason`` its bank, ``field`` the
    item's content key (a repost of the same file counts once), ``at`` the post's time, ``digest`` the post's
    content digest."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector

    def post(self, ctx: PostContext, decision: Any, now: datetime, file: str, line: int) -> list[dict[str, Any]]:
        from bastion.media.detector import SIGNAL

        sig = ctx.signals.get(SIGNAL)
        if sig is None or not sig.ok:
            return []
        counted = [m for m in sig.details.get("matches", ()) if m.get("value", 0.0) > 0.0]
        if not counted:
            return []
        keys = {}
        for media in ctx.post.media:
            q = self.detector.hashes(media)
            if q is not None and not isinstance(q, Exception):
                keys[str(media.id)] = q.key()
        post = ctx.post
        at = (post.created_at or now).timestamp()
        return [{"kind": "matched", "id": decision.id, "record_id": post.id, "account": str(m["entry"]),
                 "reason": m["bank"], "field": keys.get(m["media"]), "at": at, "digest": post.content_digest(),
                 "file": file, "line": line} for m in counted if keys.get(m["media"])]


class AccountRows:
    """What a task contributes to the account stage, as rows (see :mod:`bastion.spark.accounts`):

    * ``strike``: a post's strike through the policy (``value``), its time (``at``), why (``reason``), its
      interactions (``raw``: mentions and reposts, as JSON) and whether its decision suspends the author
      (``field`` = ``suspends``); ``id`` is the decision id, so a post read twice counts once;
    * ``profile``: an account record's profile score and markers;
    * ``edge``: an interaction record (``account`` -> ``record_id``, ``reason`` = its kind);

    and the suspensions and reinstatements (:func:`enforced_rows`).

    ``file`` and ``line`` keep the input order, which decides the last profile and the last enforcement, and
    the order strikes are added in, as ``bastion scan`` reads them."""

    def __init__(self, config: Config) -> None:
        from bastion.accounts.risk import RiskWeights, StrikePolicy
        from bastion.policy.loader import load_policy

        self.strikes = StrikePolicy(load_policy(config.policy).promote(config.live_rules), RiskWeights())

    def post(self, post: Post, decision: Any, signals: Mapping[str, Any], file: str, line: int
             ) -> list[dict[str, Any]]:
        from bastion.accounts.detector import post_edges

        strike, reason = self.strikes.strike(str(post.id), signals, post.created_at or _EPOCH)
        suspends = _suspends(decision)
        return [{"kind": "strike", "id": decision.id, "record_id": post.id, "account": str(post.account_id),
                 "value": strike, "at": post.created_at.timestamp() if post.created_at else None,
                 "reason": reason, "raw": json.dumps(post_edges(post)), "field": "suspends" if suspends else None,
                 "file": file, "line": line}]

    def record(self, record: Record, file: str, line: int) -> list[dict[str, Any]]:
        from bastion.accounts.features import profile_score
        from bastion.records import Account, Edge

        where = {"file": file, "line": line}
        if isinstance(record, Account):  # (avatar look-alikes of suspended accounts: not on Spark yet)
            prof = profile_score(record)
            markers = [f"{m.field}:{m.kind}" + (f":{m.term}" if m.term else "") for m in prof.markers][:5]
            return [{"kind": "profile", "account": str(record.id), "value": prof.value,
                     "reason": json.dumps(markers), **where}]
        if isinstance(record, Edge):
            return [{"kind": "edge", "account": str(record.src), "record_id": str(record.dst),
                     "reason": record.kind.value, **where}]
        return []


class CampaignRows:
    """What a task contributes to the campaign stage, as rows (see :mod:`bastion.spark.campaigns`):

    * ``tagged``: a post with hashtags, as the ``campaign`` detector reads it (:meth:`CampaignDetector.to_input`):
      ``id`` the decision id, ``record_id`` the post, ``at`` its time (the run's time when it has none; ``date``
      is set only when it has one), ``value`` its text score (the
      ``propaganda`` signal, else the detector's own heuristic), ``raw`` its hashtags (JSON), ``reason`` its
      near-duplicate fingerprint, ``field`` = ``known`` when one hashtag is a known extremist one, ``digest``
      the post's content digest (to decide it again);
    * ``untagged``: a post without hashtags, with the same columns: no hashtag's engine takes it, but it counts
      in its author's history and in the near-duplicate clusters, as every post does in the detector;
    * ``author``: an account record's profile score (``value``, the detector's heuristic) and creation time;

    and the suspensions and reinstatements (:func:`enforced_rows`)."""

    def __init__(self, detector: CampaignDetector, now: float) -> None:
        self.detector = detector
        self.now = now

    def post(self, ctx: PostContext, decision: Any, file: str, line: int) -> list[dict[str, Any]]:
        p = self.detector.to_input(ctx)
        tags = list(dict.fromkeys(p.hashtags[: self.detector.config.max_hashtags_per_post]))
        return [{"kind": "tagged" if tags else "untagged", "id": decision.id, "record_id": p.post_id,
                 "account": p.account, "at": p.ts if ctx.post.created_at is not None else self.now,
                 "date": None if ctx.post.created_at is None else ctx.post.created_at.date().isoformat(),
                 "value": p.text_score,
                 "raw": json.dumps(tags), "reason": None if p.fingerprint is None else str(p.fingerprint),
                 "field": "known" if any(t in self.detector.known for t in tags) else None,
                 "digest": ctx.post.content_digest(), "file": file, "line": line}]

    def record(self, record: Record, file: str, line: int) -> list[dict[str, Any]]:
        from bastion.records import Account

        if isinstance(record, Account):
            h = self.detector.heuristic
            return [{"kind": "author", "account": str(record.id),
                     "value": h.score_profile(record.handle, record.display_name, record.bio),
                     "at": record.created_at.timestamp() if record.created_at else None, "file": file,
                     "line": line}]
        return []


class EvasionRows:
    """What a task contributes to the ban-evasion stage, as rows (see :mod:`bastion.spark.evasion`):

    * ``registered``: an account record's fingerprint (``raw``, :class:`Fingerprint` JSON), ``field`` =
      ``marker`` when its profile says it is a re-registration;
    * ``authored``: a post's posting-style tokens (``raw``: hashtags, mentions, linked pages) at its time,
      ``field`` = ``suspends`` when its decision suspends the author;

    and the suspensions and reinstatements (:func:`enforced_rows`)."""

    def __init__(self, detector: BanEvasionDetector) -> None:
        self.detector = detector

    def post(self, post: Post, decision: Any, file: str, line: int) -> list[dict[str, Any]]:
        from bastion.accounts.ban_evasion import style_tokens

        suspends = _suspends(decision)
        return [{"kind": "authored", "account": str(post.account_id), "record_id": post.id,
                 "at": post.created_at.timestamp() if post.created_at else None,
                 "raw": json.dumps(style_tokens(post)), "field": "suspends" if suspends else None,
                 "file": file, "line": line}]

    def record(self, record: Record, file: str, line: int) -> list[dict[str, Any]]:
        from bastion.accounts.features import reregistration_marker
        from bastion.accounts.fingerprint import Fingerprint
        from bastion.records import Account

        if isinstance(record, Account):
            return [{"kind": "registered", "account": str(record.id),
                     "raw": json.dumps(Fingerprint.of(record).to_json()),
                     "field": "marker" if reregistration_marker(record) else None, "file": file, "line": line}]
        return []


def _suspends(decision: Decision) -> bool:
    """Whether the decision suspends its account (a suspension of the job's own, as a scan feeds back its own:
    :func:`bastion.pipeline.runtime.own_suspensions`)."""
    from bastion.policy.model import EffectKind

    return any(a.action == EffectKind.SUSPEND_ACCOUNT for a in decision.actions)


def enforced_rows(record: Record, file: str, line: int) -> list[dict[str, Any]]:
    """``enforced``: a suspension (``value`` 1) or reinstatement (0) of an account, at its time."""
    from bastion.records import EnforcementEvent, EnforcementKind, TargetKind

    if (isinstance(record, EnforcementEvent) and record.target_kind == TargetKind.ACCOUNT
            and record.kind in (EnforcementKind.SUSPEND, EnforcementKind.REINSTATE)):
        return [{"kind": "enforced", "account": str(record.target_id), "at": record.created_at.timestamp(),
                 "value": 1.0 if record.kind == EnforcementKind.SUSPEND else 0.0, "file": file, "line": line}]
    return []


def frame(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Rows as a pandas frame of the task columns (:data:`COLUMNS`; a row's missing columns are null)."""
    import pandas as pd

    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))


def _quarantine_row(q: Quarantined) -> dict[str, Any]:
    return {"kind": "quarantine", "file": q.file, "line": q.line, "record_id": q.record_id, "field": q.field,
            "reason": q.reason, "raw": q.raw[:2000]}


_SCORERS: dict[str, Scorer] = {}


def scorer(config_json: str) -> Scorer:
    """The worker's scorer for this configuration, built on first use (models, lexicons and indexes load once
    per Python worker, not once per batch)."""
    s = _SCORERS.get(config_json)
    if s is None:
        s = _SCORERS[config_json] = Scorer(Config.from_json(config_json))
    return s


def check(config: Config) -> Sequence[str]:
    """Build the scorer here, before any task does, so a bad configuration fails at once and names the
    problem; returns the detector names."""
    s = scorer(config.to_json())
    return ([d.name for d in s.detectors] + ([ACCOUNT_STAGE] if s.accounts is not None else [])
            + ([CAMPAIGN_STAGE] if s.campaign is not None else []) + ([EVASION_STAGE] if s.evasion is not None else []))

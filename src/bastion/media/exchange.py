"""Hash exchanges through the ecosystem's own library, python-threatexchange (pytx): Meta ThreatExchange,
NCMEC, StopNCII, Tech Against Terrorism, file collaborations and pytx's static sample.

pytx does the talking (authentication, paging, its checkpoints and record formats); this module turns what it
fetches into bank entries, with no storage of its own (``bastion.store.exchanges`` keeps configurations and
checkpoints, ``bastion.cli.exchanges`` drives it):

* :func:`make_api` builds a pytx ``SignalExchangeAPI`` for a collaboration from its stored configuration.
  Credentials come the way pytx looks for them (``TX_ACCESS_TOKEN`` or ``~/.txtoken`` for ThreatExchange, and
  so on), never from the database. ``endpoint`` (ThreatExchange only) points the client at a proxy or at
  recorded responses.
* :func:`changes` walks ``fetch_iter`` from a stored checkpoint and yields one :class:`Change` per fetched
  delta: entries to upsert, (signal type, signal) pairs to delete, and the checkpoint to store once the change
  is applied, so an interrupted fetch resumes where the last applied change left off.
* Opinions become labels as pytx aggregates them: ``POSITIVE_CLASS`` -> positive, ``NEGATIVE_CLASS`` ->
  negative, ``DISPUTED`` (a positive and a negative opinion, e.g. a ``DISAGREE_WITH_TAGS`` reaction) ->
  disputed, ``INVESTIGATION_SEED`` -> positive at confidence 0.5; tags are kept.
* :func:`report_opinion` writes an opinion back (a reaction on ThreatExchange, a line in a file collaboration)
  where the API supports it, and says so where it does not.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bastion.errors import ConfigError, DependencyError, InputError
from bastion.media.banks.model import BankEntry, EntryLabels, Opinion, canonical_signal_type

#: Our name for each pytx exchange API -> (module, class).
APIS: dict[str, tuple[str, str]] = {
    "fb_threatexchange": ("threatexchange.exchanges.impl.fb_threatexchange_api",
                          "FBThreatExchangeSignalExchangeAPI"),
    "ncmec": ("threatexchange.exchanges.impl.ncmec_api", "NCMECSignalExchangeAPI"),
    "stop_ncii": ("threatexchange.exchanges.impl.stop_ncii_api", "StopNCIISignalExchangeAPI"),
    "tat": ("threatexchange.exchanges.impl.techagainstterrorism_api", "TATSignalExchangeAPI"),
    "file": ("threatexchange.exchanges.impl.file_api", "LocalFileSignalExchangeAPI"),
    "sample": ("threatexchange.exchanges.impl.static_sample", "StaticSampleSignalExchangeAPI"),
}

#: ThreatExchange indicator types as pytx maps them (for deletions keyed by indicator type).
_TE_TYPES = {"HASH_PDQ": "pdq", "HASH_MD5": "md5", "HASH_VIDEO_MD5": "md5", "HASH_SHA256": "sha256",
             "HASH_VIDEO_SHA256": "sha256", "URI": "url", "RAW_URI": "url", "UNCLICKABLE_URL": "url",
             "HASH_URL_MD5": "url_md5", "TEXT_STRING": "raw_text"}


def _import(module: str, attr: str) -> Any:
    import importlib

    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise DependencyError(f"python-threatexchange is not installed ({exc.name}); pip install threatexchange"
                              ) from None


def signal_types() -> list[Any]:
    """The pytx signal types Bastion banks can hold."""
    return [_import("threatexchange.signal_type.pdq.signal", "PdqSignal"),
            _import("threatexchange.signal_type.md5", "VideoMD5Signal"),
            _import("threatexchange.signal_type.sha256", "VideoSHA256Signal"),
            _import("threatexchange.signal_type.url", "URLSignal"),
            _import("threatexchange.signal_type.url_md5", "UrlMD5Signal"),
            _import("threatexchange.signal_type.raw_text", "RawTextSignal")]


def api_class(api: str) -> Any:
    if api not in APIS:
        raise ConfigError(f"unknown exchange API {api!r}; known: {', '.join(APIS)}")
    return _import(*APIS[api])


def collab_config(api: str, name: str, config: Mapping[str, Any]) -> Any:
    """pytx's collaboration config for ``api`` from our stored settings (unknown keys are refused)."""
    cls = api_class(api).get_config_cls()
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values = {k: v for k, v in config.items() if k != "endpoint"}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"exchange {name}: unknown setting(s) {', '.join(unknown)} for {api}; "
                          f"settings: {', '.join(sorted(set(fields) - {'name', 'api', 'enabled'}))}")
    values.setdefault("name", name)
    if "api" in fields:
        values.setdefault("api", api)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"exchange {name}: {exc}") from None


def make_api(api: str, name: str, config: Mapping[str, Any]) -> Any:
    """An authenticated pytx API instance for the collaboration."""
    cls = api_class(api)
    collab = collab_config(api, name, config)
    try:
        if api == "fb_threatexchange" and config.get("endpoint"):
            client_cls = _import("threatexchange.exchanges.clients.fb_threatexchange.api", "ThreatExchangeAPI")
            creds = cls.get_credential_cls().get(cls)
            return cls(client_cls(creds.api_token, endpoint_override=str(config["endpoint"])), collab)
        return cls.for_collab(collab)
    except Exception as exc:  # pytx raises its own errors for missing or invalid credentials
        why = exc.pretty_str() if hasattr(exc, "pretty_str") else str(exc)
        raise DependencyError(f"exchange {name}: cannot connect to {api}: {' '.join(why.split())}") from None


@dataclass(slots=True)
class Change:
    """One fetched delta, ready to apply: upsert ``entries``, delete ``deleted``, then store ``checkpoint``."""

    entries: list[BankEntry] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    checkpoint: str | None = None
    updates: int = 0
    skipped: int = 0


def dump_checkpoint(checkpoint: Any) -> str | None:
    return None if checkpoint is None else json.dumps(dataclasses.asdict(checkpoint), sort_keys=True)


def load_checkpoint(api: Any, data: str | None) -> Any:
    if not data:
        return None
    import dacite

    try:
        return dacite.from_dict(api.get_checkpoint_cls(), json.loads(data))
    except (ValueError, dacite.DaciteError) as exc:
        raise InputError(f"stored checkpoint unreadable ({exc}); reset it with --from-scratch") from None


def labels_of(metadata: Any, source: str) -> EntryLabels:
    """Labels from pytx's aggregate opinion on a signal."""
    try:
        agg = metadata.get_as_aggregate_opinion()
    except (AssertionError, AttributeError, NotImplementedError):  # no opinions at all (file, sample)
        return EntryLabels(source=source)
    name = agg.category.name
    opinion = {"NEGATIVE_CLASS": Opinion.NEGATIVE, "DISPUTED": Opinion.DISPUTED}.get(name, Opinion.POSITIVE)
    return EntryLabels(source=source, opinion=opinion, confidence=0.5 if name == "INVESTIGATION_SEED" else 1.0,
                       tags=tuple(sorted(str(t) for t in agg.tags)))


def _our_type(type_str: str) -> str | None:
    try:
        return canonical_signal_type(_TE_TYPES.get(type_str, type_str))
    except ValueError:
        return None


def _canonical(signal_type: str, signal: str) -> str:
    from bastion.media.hashers import parse_signal

    try:
        return parse_signal(signal_type, signal).signal_str()
    except ValueError:
        return signal


def changes(api: Any, name: str, bank: str, checkpoint: str | None) -> Iterator[Change]:
    """Fetch from the stored checkpoint; one :class:`Change` per delta pytx yields."""
    from bastion.media.formats.base import entry

    types = signal_types()
    collab = getattr(api, "collab", None) or collab_config(api.get_name(), name, {})
    start = load_checkpoint(api, checkpoint)
    if start is not None and start.is_stale():
        start = None
    for delta in api.fetch_iter(types, start):
        out = Change(checkpoint=dump_checkpoint(delta.checkpoint), updates=len(delta.updates))
        live = {k: v for k, v in delta.updates.items() if v is not None}
        for key, value in delta.updates.items():
            if value is None and isinstance(key, tuple) and len(key) == 2 and (st := _our_type(str(key[0]))):
                out.deleted.append((st, _canonical(st, str(key[1]))))
        for s_type, signals in api.naive_convert_to_signal_type(types, collab, live).items():
            st = _our_type(s_type.get_name())
            for signal, metadata in signals.items():
                try:
                    if st is None:
                        raise ValueError(f"unsupported signal type {s_type.get_name()}")
                    out.entries.append(entry(bank, st, signal, labels=labels_of(metadata, name)))
                except ValueError:
                    out.skipped += 1
        yield out


def report_opinion(api: Any, signal_type: str, signal: str, opinion: Opinion, tags: tuple[str, ...] = ()) -> None:
    """Write our opinion on a signal back to the exchange (where its API allows)."""
    state = _import("threatexchange.exchanges", "fetch_state")
    category = {Opinion.POSITIVE: state.SignalOpinionCategory.POSITIVE_CLASS,
                Opinion.NEGATIVE: state.SignalOpinionCategory.NEGATIVE_CLASS}.get(opinion)
    if category is None:
        raise InputError("an opinion written back is positive or negative")
    by_name = {t.get_name(): t for t in signal_types()}
    pytx_name = {"md5": "video_md5", "sha256": "video_sha256"}.get(signal_type, signal_type)
    s_type = by_name.get(pytx_name)
    if s_type is None:
        raise InputError(f"signal type {signal_type!r} cannot be reported through pytx")
    if api.get_name() == "local_file" and category is state.SignalOpinionCategory.POSITIVE_CLASS and not tags:
        # pytx 1.2's LocalFileSignalExchangeAPI.report_opinion opens the file with an invalid mode ("wta"), so
        # the append it means to make is made here: one "<type> <signal>" line, as its reader expects.
        from pathlib import Path

        path = Path(api.collab.filename)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        with path.open("a", encoding="utf-8") as fh:
            fh.write(("" if not text or text.endswith("\n") else "\n") + f"{s_type.get_name()} {signal}\n")
        return
    try:
        api.report_opinion(s_type, signal, state.SignalOpinion(True, category, set(tags)))
    except NotImplementedError:
        raise InputError(f"{api.get_name()} does not take this opinion (its API has no way to say it)") from None

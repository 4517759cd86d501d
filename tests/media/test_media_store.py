"""Persisted banks (migration branch ``media``): create, add (deduplicated), counts, status, tombstones,
flood quarantine with a review job, and loading into a BankSet."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from bastion.errors import ConfigError, NotFound
from bastion.media.banks.bankset import Query
from bastion.media.banks.flood import FloodEvent
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, EntryStatus
from bastion.store import schema
from bastion.store.media import FLOOD_QUEUE, MediaBankStore

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_bank_life_cycle(engine: Engine) -> None:
    s = MediaBankStore(engine)
    s.create_bank(BankConfig("t", pdq_threshold=20))
    s.create_bank(BankConfig("allow", negative=True))
    with pytest.raises(ConfigError):
        s.create_bank(BankConfig("t"))
    assert s.create_bank(BankConfig("t"), exist_ok=True).pdq_threshold == 20
    entries = [BankEntry("t", "pdq", PDQ, EntryLabels(entity="OrgA")), BankEntry("t", "md5", "0" * 32),
               BankEntry("t", "vpdq", '["' + PDQ + ',100,0.000"]'), BankEntry("t", "md5", "0" * 32)]
    assert s.add_entries(entries) == (3, 1)
    assert s.add_entries(entries[:1]) == (0, 1)
    with pytest.raises(NotFound):
        s.add_entries([BankEntry("missing", "md5", "1" * 32)])
    listed = dict((c.name, n) for c, n in s.list_banks())
    assert listed["t"] == {"pdq": 1, "md5": 1, "vpdq": 1} and listed["allow"] == {}
    ids = [e.id for e in s.iter_entries("t")]
    assert len(ids) == 3 and s.get_entry(ids[0]).labels.entity == "OrgA"
    assert s.set_status([ids[1]], EntryStatus.DISABLED, "fp") == 1
    assert dict((c.name, n) for c, n in s.list_banks())["t"]["disabled"] == 1
    bs = s.load_bankset()
    assert bs.banks["t"].pdq_threshold == 20 and len(bs.entries) == 3
    assert bs.match(Query(pdq=PDQ)).matches[0].entry.labels.entity == "OrgA"
    assert bs.match(Query(md5="0" * 32)).matches == []  # disabled
    assert s.remove_signals("t", [("md5", "0" * 32)]) == 1
    s.update_bank(BankConfig("t", enabled_ratio=0.0))
    assert s.get_bank("t").enabled_ratio == 0.0
    s.delete_bank("t")
    with pytest.raises(NotFound):
        s.get_bank("t")


def test_flood_opens_a_review_job(engine: Engine) -> None:
    s = MediaBankStore(engine)
    s.create_bank(BankConfig("t"))
    s.add_entries([BankEntry("t", "pdq", PDQ)])
    eid = next(s.iter_entries()).id
    ev = FloodEvent(eid, "t", 51, 3600.0, 0.0)
    s.record_flood([ev])
    s.record_flood([ev])  # idempotent
    assert s.get_entry(eid).status is EntryStatus.QUARANTINED
    with engine.connect() as conn:
        jobs = conn.execute(select(schema.review_jobs).where(schema.review_jobs.c.queue == FLOOD_QUEUE)).all()
    assert len(jobs) == 1 and jobs[0].subject_kind == "bank_entry" and jobs[0].subject_id == str(eid)

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from bastion.accounts.ban_evasion import BanEvasionDetector
from bastion.accounts.detector import AccountRiskDetector
from bastion.detector import PostContext
from bastion.records import Account, AccountId, EnforcementEvent, EnforcementKind, Post, PostId, TargetKind
from bastion.signals import Signal

T0 = datetime(2016, 1, 1, tzinfo=UTC)


def test_accounts_show_and_clusters_read_stored_state(tmp_path: Path) -> None:
    from bastion.cli.main import app
    from bastion.store.db import open_engine
    from bastion.store.schema import detector_state

    risk = AccountRiskDetector()
    for i, bad in enumerate(("bad1", "bad2")):
        post = Post(id=PostId(f"p{i}"), account_id=AccountId("fan"), text="x", created_at=T0, mentions=(bad,))
        risk.detect([PostContext(post=post, signals={"propaganda": Signal("propaganda", 0.7, "t", "0")})])
    risk.observe([EnforcementEvent(id=b, kind=EnforcementKind.SUSPEND, target_kind=TargetKind.ACCOUNT, target_id=b,
                                   created_at=T0) for b in ("bad1", "bad2")])
    risk.account_signals()
    be = BanEvasionDetector()
    be.suspend(Account(id=AccountId("old"), handle="fan_old1", display_name="Fan Club"))
    be.detect_accounts([Account(id=AccountId("fan"), handle="fan_old2", display_name="Fan Club")])
    url = f"sqlite:///{tmp_path / 'b.db'}"
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(detector_state.insert(), [
            {"name": "account_risk", "data": risk.snapshot(), "updated_at": T0},
            {"name": "ban_evasion", "data": be.snapshot(), "updated_at": T0}])
    res = CliRunner().invoke(app, ["accounts", "show", "fan", "--db", url])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["account_risk"]["score"] > 0
    assert {t["signal"] for t in doc["account_risk"]["top"]} >= {"posts", "network"}
    assert doc["ban_evasion_candidates"][0]["account_id"] == "old"
    res = CliRunner().invoke(app, ["accounts", "clusters", "--db", url, "--min-size", "2", "--min-risk", "0.2"])
    assert res.exit_code == 0 and "fan" in res.output
    res = CliRunner().invoke(app, ["accounts", "show", "nobody", "--db", url])
    assert res.exit_code == 2  # NotFound

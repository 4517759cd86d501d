"""The acceptance interface: ``bastion keys create`` prints a working key; ``bastion serve`` serves the API,
the OpenAPI document and the UI on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from bastion.cli.main import app as cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    runner = CliRunner()
    res = runner.invoke(cli, ["keys", "create", "--role", "reviewer", "--db", db, "--name", "ana"])
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[-1]
    assert key.startswith("bst_")
    listed = runner.invoke(cli, ["keys", "list", "--db", db])
    assert "reviewer" in listed.stdout and key not in listed.stdout
    assert runner.invoke(cli, ["keys", "create", "--role", "root", "--db", db]).exit_code != 0
    key_id = key[4:].split("_", 1)[0]
    assert runner.invoke(cli, ["keys", "revoke", key_id, "--db", db]).exit_code == 0


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    created = CliRunner().invoke(cli, ["keys", "create", "--role", "integrator", "--db", db])
    key = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    env = {**os.environ, "BASTION_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "serve", "--db", db, "--host", "127.0.0.1",
                             "--port", str(port), "--detectors", "none"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        r = httpx.post(f"{base}/v1/posts", json={"id": "s1", "account_id": "a", "text": "hello"},
                       headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json()["verdict"] == "allow"
        assert httpx.post(f"{base}/v1/posts", json={}).status_code == 401
        ui = httpx.get(f"{base}/ui/", follow_redirects=True)
        assert ui.status_code == 200 and "Sign in" in ui.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()

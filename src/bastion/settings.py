"""Settings, built once at the edge (CLI, server) from a TOML file and ``BASTION_*`` variables.

Precedence: explicit arguments > environment > ``bastion.toml`` (or ``BASTION_CONFIG``) > defaults.
Secrets (the webhook signing secret) come from the environment only, never from a config file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    db_url: str | None = None
    policy: str | None = None  # None: the default policy that ships
    live_rules: tuple[str, ...] = ()  # shadow rules this deployment makes live (Policy.promote)
    detectors: str = "all"
    assets: str | None = None  # protected-assets registry for the threat detector
    batch_size: int = 1000
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    detector_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: re-propagate the account network every N batches (1: after each; a server with small verdict batches
    #: sets more)
    network_refresh_batches: int = 1
    #: detection processes for a scan: 0 for every usable core, 1 to run everything in one process
    workers: int = 0

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        cfg = Path(path or os.environ.get("BASTION_CONFIG", "bastion.toml"))
        if cfg.is_file():
            try:
                data = tomllib.loads(cfg.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{cfg}: {exc}") from exc
            if "webhook_secret" in data:
                raise ConfigError(f"{cfg}: secrets belong in the environment (BASTION_WEBHOOK_SECRET)")
            values.update({k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        env = {"db_url": "BASTION_DB_URL", "policy": "BASTION_POLICY", "detectors": "BASTION_DETECTORS",
               "assets": "BASTION_ASSETS", "webhook_url": "BASTION_WEBHOOK_URL",
               "webhook_secret": "BASTION_WEBHOOK_SECRET", "batch_size": "BASTION_BATCH_SIZE",
               "live_rules": "BASTION_LIVE_RULES", "workers": "BASTION_WORKERS"}
        for key, var in env.items():
            if os.environ.get(var):
                values[key] = os.environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key, default in (("batch_size", 1000), ("workers", 0)):
            try:
                values[key] = int(values.get(key, default))
            except ValueError as exc:
                raise ConfigError(f"{key} must be an integer: {exc}") from exc
        if values["workers"] < 0:
            raise ConfigError("workers must be 0 (every usable core) or more")
        rules = values.get("live_rules", ())
        if isinstance(rules, str):
            rules = rules.split(",")
        if not isinstance(rules, list | tuple) or not all(isinstance(r, str) for r in rules):
            raise ConfigError("live_rules must be a list of rule ids (BASTION_LIVE_RULES: comma-separated)")
        values["live_rules"] = tuple(r.strip() for r in rules if r.strip())
        return cls(**values)

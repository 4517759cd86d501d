"""One exception tree for Bastion.

    BastionError
    ├── ConfigError            a settings, policy, lexicon or registry file is invalid (exit code 2)
    │   └── PolicyError        a policy file is invalid; carries file:line locations
    ├── InputError             the user named something that does not exist or cannot be read (exit code 2)
    ├── RecordError            one input record is malformed; ingest quarantines it and goes on
    ├── DependencyError        a database, model file or external service is unavailable (exit code 3)
    ├── DetectorError          a detector failed on an item; the pipeline records an unavailable signal
    ├── IntegrityError         an audit chain, evidence blob or case package fails verification
    └── NotFound               a requested object does not exist

Content problems are data (a quarantined record, an unavailable signal with a reason); infrastructure
problems raise.
"""

from __future__ import annotations

from pathlib import Path


class BastionError(Exception):
    """Base of every error Bastion raises on purpose."""

    exit_code: int = 1


class ConfigError(BastionError):
    exit_code = 2


class PolicyError(ConfigError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class InputError(BastionError):
    exit_code = 2


class RecordError(BastionError):
    """A malformed input record. ``field`` names the offending field where one can be named."""

    def __init__(self, reason: str, *, field: str | None = None, record_id: str | None = None) -> None:
        self.reason = reason
        self.field = field
        self.record_id = record_id
        where = []
        if record_id:
            where.append(f"record {record_id!r}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)


class DependencyError(BastionError):
    exit_code = 3


class DetectorError(BastionError):
    pass


class IntegrityError(BastionError):
    exit_code = 4


class NotFound(BastionError):
    exit_code = 2


def require_data(path: Path, what: str) -> Path:
    """``path``, if it is a file; else an :class:`InputError` naming it and where the data comes from."""
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist: the evaluation and training data live outside the "
                         "repository (docs/data.md lists each file; scripts/get-data.sh fetches them)")
    return path

"""Which logs to keep: by type code, by level, and by Management API endpoint.

Each filter narrows; none widens another (the original extension's union of types and
levels was a bug). A type code missing from the level table counts as level 1.

>>> keep = LogFilter(types=frozenset({"s", "f", "sapi"}), min_level=3)
>>> keep({"type": "f"}), keep({"type": "s"}), keep({"type": "fp"})
(True, False, False)
>>> users = LogFilter(endpoints=("users",))
>>> users({"type": "sapi", "details": {"request": {"path": "/api/v2/users/auth0|1"}}})
True
>>> users({"type": "sapi", "details": {"request": {"path": "/api/v2/users-by-email"}}})
False
>>> users({"type": "s"})
True
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

UNKNOWN_TYPE_LEVEL = 1
MANAGEMENT_API_TYPES = frozenset({"sapi", "fapi"})
LEVEL_NAMES = ("debug", "info", "warning", "error", "critical")


@cache
def log_levels() -> Mapping[str, int]:
    """The level of every known log type code, from the packaged ``log_types.tsv``."""
    text = resources.files(__package__).joinpath("log_types.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["code"]: int(row["level"]) for row in rows}


def level_of(log_type: str) -> int:
    return log_levels().get(log_type, UNKNOWN_TYPE_LEVEL)


def request_path(log: Mapping[str, Any]) -> str:
    details = log.get("details")
    request = details.get("request") if isinstance(details, Mapping) else None
    path = request.get("path") if isinstance(request, Mapping) else None
    return path if isinstance(path, str) else ""


@dataclass(frozen=True)
class LogFilter:
    """A predicate over log entries; an empty field means "no restriction"."""

    types: frozenset[str] = frozenset()
    min_level: int | None = None
    endpoints: tuple[str, ...] = ()

    def __call__(self, log: Mapping[str, Any]) -> bool:
        log_type = log.get("type")
        log_type = log_type if isinstance(log_type, str) else ""
        if self.types and log_type not in self.types:
            return False
        if self.min_level is not None and level_of(log_type) < self.min_level:
            return False
        if self.endpoints and log_type in MANAGEMENT_API_TYPES:
            return self._endpoint_matches(request_path(log))
        return True

    def _endpoint_matches(self, path: str) -> bool:
        path = path.split("?", 1)[0].rstrip("/")
        return any(path == f"/api/v2/{name}" or path.startswith(f"/api/v2/{name}/") for name in self.endpoints)

    def unknown_types(self) -> list[str]:
        """Listed type codes missing from the level table (kept, but worth a warning)."""
        return sorted(code for code in self.types if code not in log_levels())

"""Hash, mask or drop personal data in a log before it leaves for a route's destination.

A path is either a bare field name, which means that field at any depth (``email`` covers
``email``, ``details.body.email`` and ``details.user.email``), or a dotted path from the top
of the log where ``*`` stands for any one key (``details.request.*``); lists along the way
are walked element by element. ``hash`` replaces a value with ``hmac-sha256:`` and the hex
HMAC-SHA256 of the value under the route's key (the same value hashes the same way for a
route, and nobody without the key can reverse it by dictionary); ``mask`` replaces it with
``****``; ``drop`` removes the field. The input is never modified.

>>> from .model import Pii
>>> scrub = PiiTransform(Pii(hash=("email",), mask=("ip",), drop=("details.body",)), key=b"k")
>>> out = scrub({"log_id": "1", "ip": "10.0.0.1", "details": {"body": {"x": 1}, "user": {"email": "a@b.c"}}})
>>> out["ip"], list(out["details"]), out["details"]["user"]["email"][:20]
('****', ['user'], 'hmac-sha256:72077525')
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .model import Pii

HASH_PREFIX = "hmac-sha256:"
MASK = "****"
PATH = re.compile(r"^[A-Za-z0-9_]+(\.([A-Za-z0-9_]+|\*))*$")
# Fields the pipeline itself reads after the transform (ids, order, matching): never rewritten.
PROTECTED_FIELDS = frozenset({"log_id", "_id", "type", "date"})
# What Log Streams' pii_config covers (log-streams.md), by its own names: the paths to list for the same cover.
LOG_STREAMS_FIELDS = {
    "first_name": ("first_name", "given_name", "name"),
    "last_name": ("last_name", "family_name", "name"),
    "username": ("username", "user_name"),
    "email": ("email",),
    "phone": ("phone", "phone_number", "old_phone_number", "new_phone_number"),
    "address": ("address",),
}


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be hashed, masked or dropped, or None.

    >>> path_problem("details.request.ip") is None
    True
    >>> path_problem("log_id")
    'log_id is read by the pipeline itself (log_id, _id, type, date cannot be changed)'
    >>> path_problem("a..b")
    'a..b is not a field name or a dotted path such as details.request.ip'
    """
    if not PATH.match(path):
        return f"{path} is not a field name or a dotted path such as details.request.ip"
    if path.split(".", 1)[0] in PROTECTED_FIELDS:
        return f"{path} is read by the pipeline itself (log_id, _id, type, date cannot be changed)"
    return None


class PiiTransform:
    """A route's PII rules as a function from a log to a new, scrubbed log."""

    def __init__(self, pii: Pii, key: bytes | None) -> None:
        if pii.hash and not key:
            raise ValueError("hashing needs a key (pii.hash_key_secret)")
        for path in (*pii.hash, *pii.mask, *pii.drop):
            problem = path_problem(path)
            if problem:
                raise ValueError(problem)
        self._rules: list[tuple[tuple[str, ...], Callable[[Any], Any] | None]] = [
            *((tuple(path.split(".")), None) for path in pii.drop),
            *((tuple(path.split(".")), self._hash) for path in pii.hash),
            *((tuple(path.split(".")), _mask) for path in pii.mask),
        ]
        self._key = key or b""
        # bare names are applied while the log is copied, in one walk (a walk per name cost several)
        self._names: dict[str, list[Callable[[Any], Any] | None]] = {}
        for steps, replace in self._rules:
            if len(steps) == 1:
                self._names.setdefault(steps[0], []).append(replace)
        self._paths = [(steps, replace) for steps, replace in self._rules if len(steps) > 1]

    def __call__(self, log: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = _scrubbed_copy(dict(log), self._names)
        for steps, replace in self._paths:
            _at_path(out, steps, replace)
        return out

    def _hash(self, value: Any) -> str:
        raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        return HASH_PREFIX + hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).hexdigest()


def _scrubbed_copy(node: Any, names: Mapping[str, list[Callable[[Any], Any] | None]]) -> Any:
    """A copy of a log's JSON tree in which every field named in ``names``, at any depth, had its rules
    applied in order (None: dropped). Leaves are immutable, so they are shared, not copied."""
    if isinstance(node, list):
        return [_scrubbed_copy(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, original in node.items():
        rules = names.get(key, ())
        if None in rules:
            continue  # dropped (drop rules come first)
        value = original
        for replace in rules:
            if value is not None and replace is not None:
                value = replace(value)
        out[key] = _scrubbed_copy(value, names) if isinstance(value, (dict, list)) else value
    return out


def _mask(value: Any) -> str:
    return MASK


def _apply(node: dict[str, Any], name: str, replace: Callable[[Any], Any] | None) -> None:
    if name not in node:
        return
    if replace is None:
        del node[name]
    elif node[name] is not None:
        node[name] = replace(node[name])


def _at_path(node: Any, steps: tuple[str, ...], replace: Callable[[Any], Any] | None) -> None:
    if isinstance(node, list):
        for item in node:
            _at_path(item, steps, replace)
        return
    if not isinstance(node, dict):
        return
    head, rest = steps[0], steps[1:]
    names = list(node) if head == "*" else [head]
    for name in names:
        if not rest:
            _apply(node, name, replace)
        elif name in node:
            _at_path(node[name], rest, replace)

"""The argument types several operator commands share (argparse ``type=`` functions).

Each one accepts what the routes file and the settings accept, so that a command line is
refused as the configuration would be, naming what is allowed.
"""

from __future__ import annotations

import argparse
import re

ROUTE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # the routes file's id pattern (routes.schema.json)
LOG_TYPE = re.compile(r"[a-z0-9_]+")  # an Auth0 log type code, as LOG_TYPES and match.types take it


def route_id(text: str) -> str:
    """A route id on a command line (an argparse ``type``): as the routes file allows, or refused.

    >>> route_id("siem-eu")
    'siem-eu'
    >>> route_id("Siem EU")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a route id (lower-case letters, digits and -, as in the routes file); ...
    """
    if not ROUTE_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be a route id (lower-case letters, digits and -, as in the routes file); got {text!r}"
        )
    return text


def log_types(text: str) -> frozenset[str]:
    """Comma-separated log type codes (``--types s,f``), blanks around them ignored.

    >>> sorted(log_types("s, f"))
    ['f', 's']
    >>> log_types("s,F")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be comma-separated log type codes such as s,f; got 's,F'
    """
    types = frozenset(t.strip() for t in text.split(",") if t.strip())
    if not types or any(not LOG_TYPE.fullmatch(t) for t in types):
        raise argparse.ArgumentTypeError(f"must be comma-separated log type codes such as s,f; got {text!r}")
    return types

"""The ``email`` and ``slack`` destinations of a route, as the routes file spells them.

>>> email_destination("pw", {"template": "password-changed", "from": "Acme <security@acme.test>"})
EmailDestination(template='password-changed', sender='Acme <security@acme.test>', unverified_ok=False)
>>> email_destination("pw", {"template": "password-changed", "from": "x@y\\r\\nBcc: z@w"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
auth0_webhooks.errors.ConfigError: routes[pw].destination.from must be one address ... with no line breaks; got ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

_ADDRESS = re.compile(r"^(?:[^<>\r\n\x00]{0,100}<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+)$")


@dataclass(frozen=True)
class EmailDestination:
    """Mail the user the log is about, from ``sender`` (an SES-verified identity)."""

    template: str
    sender: str
    unverified_ok: bool = False  # also mail addresses the user has not verified


@dataclass(frozen=True)
class SlackDestination:
    """Post to a Slack incoming webhook (``url`` is a secret)."""

    template: str
    url: str

    def __repr__(self) -> str:
        return f"SlackDestination(template={self.template!r}, url='****')"


Destination = EmailDestination | SlackDestination


def email_destination(route_id: str, config: Mapping[str, Any]) -> EmailDestination:
    """Read ``{type: email, template, from, send_to_unverified?}``; :class:`ConfigError` names the field."""
    where = f"routes[{route_id}].destination"
    template = _template(where, config)
    sender = config.get("from")
    if not isinstance(sender, str) or not _ADDRESS.match(sender.strip()):
        raise ConfigError(
            f"{where}.from",
            "one address (e.g. 'Acme <security@acme.test>') with no line breaks",
            got=None if sender is None else str(sender),
        )
    unverified = config.get("send_to_unverified", False)
    if not isinstance(unverified, bool):
        raise ConfigError(f"{where}.send_to_unverified", "true or false", got=str(unverified))
    return EmailDestination(template=template, sender=sender.strip(), unverified_ok=unverified)


def slack_destination(route_id: str, config: Mapping[str, Any]) -> SlackDestination:
    """Read ``{type: slack, template, url}`` (``url`` resolved from its secret by the caller)."""
    where = f"routes[{route_id}].destination"
    url = config.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ConfigError(f"{where}.url", "an https:// Slack incoming-webhook URL")
    return SlackDestination(template=_template(where, config), url=url)


def _template(where: str, config: Mapping[str, Any]) -> str:
    template = config.get("template")
    if not isinstance(template, str) or not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", template):
        raise ConfigError(
            f"{where}.template",
            "the name of a folder under config/templates (lower-case letters, digits, '-')",
            got=None if template is None else str(template),
        )
    return template

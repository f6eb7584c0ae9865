"""Send one e-mail with Amazon SES v2 ``SendEmail``: simple content, an HTML and a text part.

Failures come back as :class:`SendError`, ``retryable`` or not: throttling, a paused account, a
5xx or a broken connection are worth retrying; a rejected message, an unverified sender (or, in
the sandbox, recipient) is not, and goes to the dead-letter queue with its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# one attempt, short timeouts: a failed send is retried by the queue, within the deadline
SES_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 1})

PERMANENT_CODES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "NotFoundException",
        "BadRequestException",
        "AccessDeniedException",
    }
)


@dataclass(frozen=True)
class Email:
    """One message, already rendered."""

    sender: str
    to: str
    subject: str
    text: str
    html: str
    tags: dict[str, str] = field(default_factory=dict)  # SES message tags (route, log type); no PII


class SendError(Exception):
    """SES did not take the message. ``reason`` names the error code, never the address or content."""

    def __init__(self, reason: str, retryable: bool) -> None:
        self.reason, self.retryable = reason, retryable
        super().__init__(reason)


class SesMailer:
    """Sends through ``client`` (default: the cached ``sesv2`` client of :mod:`..clients`)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or ses_client()

    def send(self, email: Email) -> str:
        """Send ``email``; its SES message id."""
        try:
            reply = self.client.send_email(
                FromEmailAddress=email.sender,
                Destination={"ToAddresses": [email.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": email.text, "Charset": "UTF-8"},
                            "Html": {"Data": email.html, "Charset": "UTF-8"},
                        },
                    }
                },
                EmailTags=[{"Name": name, "Value": _tag(value)} for name, value in email.tags.items()],
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            raise SendError(f"SES refused the message: {code}", retryable=code not in PERMANENT_CODES) from None
        except BotoCoreError as error:
            raise SendError(f"SES unreachable: {type(error).__name__}", retryable=True) from None
        return str(reply.get("MessageId", ""))


def ses_client() -> Any:
    """The container's SES v2 client (endpoint from ``AWS_ENDPOINT_URL_SESV2``/``AWS_ENDPOINT_URL``)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_SESV2") or os.environ.get("AWS_ENDPOINT_URL")
    return _ses_client(endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


@cache
def _ses_client(endpoint: str | None, region: str | None) -> Any:
    return boto3.client("sesv2", endpoint_url=endpoint, region_name=region, config=SES_CONFIG)


def _tag(value: str) -> str:
    """SES tag values allow ASCII letters, digits, ``_``, ``-``, ``.``, ``@`` only.

    >>> _tag("auth0|route 1")
    'auth0_route_1'
    """
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-.@") else "_" for c in value)[:256] or "_"

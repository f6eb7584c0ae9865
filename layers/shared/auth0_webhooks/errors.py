"""Exceptions raised by the library. None of them ever carries a secret value."""

from __future__ import annotations


class Auth0WebhooksError(Exception):
    """Base class of every error raised on purpose by this package."""


class ConfigError(Auth0WebhooksError):
    """A setting is missing or wrong. The message names the setting and what it accepts.

    >>> str(ConfigError("BATCH_SIZE", "a whole number from 1 to 100", got="0"))
    "BATCH_SIZE must be a whole number from 1 to 100; got '0'"
    """

    def __init__(self, setting: str, allowed: str, got: str | None = None) -> None:
        self.setting = setting
        message = f"{setting} must be {allowed}"
        if got is not None:
            message += f"; got {got!r}"
        super().__init__(message)


class Auth0Error(Auth0WebhooksError):
    """The Management API refused a request or kept failing."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class RateLimited(Auth0Error):
    """The tenant's rate limit will not reset within the time this run has left."""

    def __init__(self, reset_in: float) -> None:
        self.reset_in = reset_in
        super().__init__(f"Auth0 rate limit: next token in {reset_in:.1f}s, more than this run has left", 429)


class QueueError(Auth0WebhooksError):
    """SQS did not accept a batch; ``accepted`` batches before it were accepted, in order."""

    def __init__(self, message: str, accepted: int) -> None:
        self.accepted = accepted
        super().__init__(message)


class CheckpointConflict(Auth0WebhooksError):
    """Another poller moved the checkpoint since this one read it."""


class RoutesError(ConfigError):
    """A routes file is wrong: ``problems`` holds every error found, each naming the route and field.

    >>> print(RoutesError("routes.yaml", ["route siem: destination.url: must be an https:// URL"]))
    routes.yaml has 1 error:
      route siem: destination.url: must be an https:// URL
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.setting = source
        self.problems = list(problems)
        plural = "error" if len(problems) == 1 else "errors"
        Exception.__init__(self, "\n  ".join([f"{source} has {len(problems)} {plural}:", *problems]))

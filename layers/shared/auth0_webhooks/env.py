"""The environment, read with types: every error names the variable, secrets never print themselves.

A secret setting ``NAME`` may instead be given as ``NAME_ARN``: the ARN or name of a
Secrets Manager secret, or an SSM SecureString parameter (an ``arn:<partition>:ssm:…`` ARN
or a name starting with ``/``). Secret values are wrapped in :class:`Secret` so that they never
show up in a log line, a repr or an error.

>>> env = Env({"BATCH_SIZE": "50", "LOG_TYPES": "s, f"})
>>> env.integer("BATCH_SIZE", default=100, low=1, high=100)
50
>>> env.words("LOG_TYPES", pattern=r"[a-z0-9_]+", what="log type codes")
('s', 'f')
>>> Env({"BATCH_SIZE": "500"}).integer("BATCH_SIZE", default=100, low=1, high=100)
Traceback (most recent call last):
...
auth0_webhooks.errors.ConfigError: BATCH_SIZE must be a whole number from 1 to 100; got '500'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from .errors import ConfigError

SECRET_MAX_AGE_SECONDS = 300  # a rotated secret is picked up within five minutes
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")  # ASCII digits only: int() also takes Arabic-Indic digits and "1_0"
_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[^:]*:[^:]*:parameter(?P<name>/.*)$")


class Secret:
    """A secret value that does not print itself.

    >>> s = Secret("hunter2")
    >>> s, f"{s}", s.reveal()
    (Secret('****'), '****', 'hunter2')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Env:
    """Typed reads of a mapping of environment variables; every error names the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or default

    def required(self, name: str, what: str) -> str:
        value = self.text(name)
        if value is None:
            raise ConfigError(name, f"set to {what}", got="")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """A whole number written in ASCII digits.

        >>> Env({"N": "1_0"}).integer("N", default=1, low=1, high=100)
        Traceback (most recent call last):
        ...
        auth0_webhooks.errors.ConfigError: N must be a whole number from 1 to 100; got '1_0'
        """
        allowed = f"a whole number from {low} to {high}"
        return int(self._ranged(name, default, low, high, _parser(_INTEGER, int), allowed))

    def number(self, name: str, default: float, low: float, high: float) -> float:
        allowed = f"a number of seconds from {low:g} to {high:g}"
        return self._ranged(name, default, low, high, _parser(_DECIMAL, float), allowed)

    def _ranged(
        self, name: str, default: float, low: float, high: float, parse: Callable[[str], float], allowed: str
    ) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = parse(raw)
        except ValueError:
            raise ConfigError(name, allowed, got=raw) from None
        if not low <= value <= high:
            raise ConfigError(name, allowed, got=raw)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ConfigError(name, "true or false", got=raw)

    def words(self, name: str, pattern: str, what: str) -> tuple[str, ...]:
        """A comma-separated list; blanks around items are ignored, empty means none."""
        raw = self.text(name) or ""
        items = tuple(item.strip() for item in raw.split(",") if item.strip())
        bad = [item for item in items if not re.fullmatch(pattern, item)]
        if bad:
            raise ConfigError(name, f"a comma-separated list of {what}", got=bad[0])
        return items

    def secret(self, name: str, required: bool = True) -> Secret | None:
        """``NAME`` itself, or the value of the secret or parameter named by ``NAME_ARN``."""
        direct, reference = self.text(name), self.text(f"{name}_ARN")
        if direct is not None and reference is not None:
            raise ConfigError(name, f"set either as {name} or as {name}_ARN, not both")
        if reference is not None:
            return Secret(fetch_secret(f"{name}_ARN", reference))
        if direct is not None:
            return Secret(direct)
        if required:
            raise ConfigError(name, f"set, or {name}_ARN set to a Secrets Manager secret or SSM parameter", got="")
        return None


def _parser(pattern: re.Pattern[str], convert: Callable[[str], float]) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        if not pattern.match(raw):
            raise ValueError(raw)
        return convert(raw)

    return parse


def ssm_name(reference: str) -> str | None:
    """The SSM parameter a ``*_ARN`` setting names, or ``None`` if it names a Secrets Manager secret.

    An SSM parameter ARN in any partition names ``/path/name`` or ``name`` (a name without a
    slash is stored without one); a reference starting with ``/`` is a parameter's name.

    >>> ssm_name("arn:aws:ssm:eu-west-1:123456789012:parameter/auth0/secret")
    '/auth0/secret'
    >>> ssm_name("arn:aws-cn:ssm:cn-north-1:123456789012:parameter/flat")
    'flat'
    >>> ssm_name("/auth0/secret"), ssm_name("arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:x")
    ('/auth0/secret', None)
    """
    if reference.startswith("/"):
        return reference
    match = _SSM_ARN.match(reference)
    if match is None:
        return None
    name = match["name"]
    # arn:…:parameter/a/b names "/a/b"; arn:…:parameter/flat names "flat" (the ARN adds the slash)
    return name if "/" in name[1:] else name[1:]


def fetch_secret(setting: str, reference: str) -> str:
    """The value of the secret ``reference`` names, stripped: an SSM parameter (its ARN or its
    ``/name``, decrypted) or a Secrets Manager secret (its ARN or name), see :func:`ssm_name`.

    Read once per container: Powertools caches it for :data:`SECRET_MAX_AGE_SECONDS`. A failed
    read, or a secret that is not a non-empty string, raises :class:`ConfigError` naming
    ``setting`` (the environment setting or routes-file field that holds ``reference``), the kind
    of secret and the reference, never the value. No doctest: every call reads AWS.
    """
    from aws_lambda_powertools.utilities import parameters

    name = ssm_name(reference)
    is_ssm = name is not None
    try:
        if name is not None:
            value = parameters.get_parameter(name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
        else:
            value = parameters.get_secret(reference, max_age=SECRET_MAX_AGE_SECONDS)
    except Exception as error:  # the message of a failed fetch holds no secret value, only its name
        kind = "an SSM parameter" if is_ssm else "a Secrets Manager secret"
        raise ConfigError(setting, f"{kind} this function can read ({type(error).__name__})", got=reference) from None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(setting, "a secret holding a non-empty string", got=reference)
    return value.strip()

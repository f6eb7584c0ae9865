"""Check a configuration before deploying it: the Auth0 credentials, the webhook, the Slack URL, the routes.

It reads the settings the functions read (environment variables; a secret may be given as
``NAME_ARN``), and checks only the parts that are set, so a half-written configuration can be
checked too. Its command, ``auth0-webhooks doctor`` (:mod:`.doctor_command`), lets flags
override the settings that are not secret; secrets come only from the environment, because
a command line ends up in shell history and in ``ps``. One line per check, ✓ or ✗ with what
to do about it; the exit code is 0 when every check passed, 1 otherwise. No line ever holds
a secret: secret values are masked and URLs cut to their host.

- **Auth0**: a token by the client-credentials grant, then one read of a single log
  (``GET /api/v2/logs``, search mode, ``per_page=1``), the poller's first request.
- **Notifications**: when ``ROUTES_FILE`` has ``email`` or ``slack`` routes, one user look-up
  (``GET /api/v2/users/{id}`` of a user that does not exist: 404 means ``read:users`` is granted).
- **Webhook**: a POST of an empty batch ``[]`` with the headers the deliverer sends (the
  ``Authorization`` header, the Standard Webhooks signature). Not a made-up log: a production
  receiver would store or act on it, while an empty batch holds nothing and still goes
  through the same URL, TLS, authorization and signature checks. A receiver that refuses an
  empty batch (400, 422) is reported with that explanation.
- **Slack**: by default only the URL's shape (``https://hooks.slack.com/services/T…/B…/…``),
  since a test message lands in a channel people read. With ``--slack-test``, a short
  "auth0-webhooks doctor: test message", which Slack must answer with 200 ``ok``.
- **Routes**: when ``ROUTES_FILE`` names a routes file, the routes check
  (:func:`auth0_webhooks.routes.check.check_file`, secrets against ``STACK_NAME``'s prefix when
  it is set): one ✗ line per error, a ✓ line per warning, or one ✓ line naming the routes.

>>> Check("Webhook", False, "no such endpoint (HTTP 404): check the path in WEBHOOK_URL").line()
'✗ Webhook: no such endpoint (HTTP 404): check the path in WEBHOOK_URL'
>>> slack_url_problem("https://hooks.slack.com/services/T0001/B0001/abcDEF123") is None
True
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from ..alerts import SLACK_TIMEOUT, USERNAME
from ..auth0_source import Auth0LogSource
from ..env import Env, Secret
from ..errors import Auth0Error, ConfigError, RateLimited
from ..redaction import host_of, redact
from ..routes.check import check_file
from ..routes.load import routes_file
from ..settings import Auth0Settings, DelivererSettings, SlackSettings
from ..signing import WebhookSigner
from ..webhook import Outcome, WebhookClient

AUTH0_SECONDS = 20.0  # the Auth0 check's budget, retries included
SLACK_TEST_TEXT = "auth0-webhooks doctor: test message"
_SLACK_URL = re.compile(r"^https://hooks\.slack(-gov)?\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+$")
_PLACEHOLDER_QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/checked-by-doctor"
AUTH0_NAMES = ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_SECRET_ARN")
SLACK_NAMES = ("SLACK_INCOMING_WEBHOOK_URL", "SLACK_INCOMING_WEBHOOK_URL_ARN")
STACK_NAME_SETTING = "STACK_NAME"  # as the functions get it: secrets must be under this prefix
GRANT_PATH = "Applications → APIs → Auth0 Management API → Machine to Machine Applications"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"

    def masked(self, secrets: Iterable[str]) -> Check:
        return replace(self, detail=redact(self.detail, secrets))


# -- Auth0 ---------------------------------------------------------------------------


def check_auth0(settings: Auth0Settings, seconds: float = AUTH0_SECONDS) -> Check:
    """A token, then one log read: the two things the poller needs."""
    return _check_auth0(settings, seconds).masked([settings.client_secret.reveal()])


def _check_auth0(settings: Auth0Settings, seconds: float) -> Check:
    deadline = time.monotonic() + seconds

    def time_left() -> float:
        return deadline - time.monotonic()

    source = Auth0LogSource(settings, requests.Session())
    try:
        source.token(time_left)
    except RateLimited as error:
        return Check("Auth0", False, f"the token endpoint is rate-limiting; try again in {error.reset_in:.0f} s")
    except Auth0Error as error:
        return Check("Auth0", False, f"{_token_advice(error.status)} (Auth0 said: {redact(str(error))})")
    try:
        page = source.oldest(time_left)
    except RateLimited as error:
        return Check("Auth0", False, f"the tenant is rate-limiting; try again in {error.reset_in:.0f} s")
    except Auth0Error as error:
        return Check("Auth0", False, f"{_logs_advice(error.status)} (Auth0 said: {redact(str(error))})")
    oldest = next((e.get("date") for e in page.logs if isinstance(e, dict)), None)
    kept = f"the oldest log kept is from {oldest}" if oldest else "the tenant keeps no logs yet"
    return Check("Auth0", True, f"client {settings.client_id} got a token and can read logs ({kept})")


def _token_advice(status: int | None) -> str:
    if status is None:
        return "could not get a token: check that AUTH0_DOMAIN is the tenant's domain and that it is reachable"
    if status == 401:
        return "wrong client id or secret: check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (was the secret rotated?)"
    if status == 403:
        return (
            "the application may not call the Management API: authorize it under "
            f"{GRANT_PATH}, and use the tenant's own domain (…auth0.com) in AUTH0_DOMAIN, not a custom domain"
        )
    if status >= 500:
        return f"Auth0 is failing right now (HTTP {status}); try again later"
    return f"the token request was refused (HTTP {status}): is AUTH0_DOMAIN an Auth0 tenant?"


def _logs_advice(status: int | None) -> str:
    if status == 403:
        return f"the application lacks the read:logs scope: grant it under {GRANT_PATH} → Permissions"
    if status == 401:
        return "the token was refused by /api/v2/logs: does AUTH0_DOMAIN name the tenant that issued it?"
    if status is None or status >= 500:
        return "reading logs kept failing; try again later"
    return f"reading logs was refused (HTTP {status})"


# -- the webhook ---------------------------------------------------------------------


def check_webhook(settings: DelivererSettings) -> Check:
    """A signed POST of an empty batch, with the deliverer's headers and timeout."""
    signer = WebhookSigner(settings.signing_secret.reveal()) if settings.signing_secret else None
    authorization = settings.authorization.reveal() if settings.authorization else None
    client = WebhookClient(settings.webhook_url, requests.Session(), settings.timeout, authorization, signer)
    outcome = client.post(f"doctor_{uuid.uuid4().hex}", b"[]")
    ok, advice = webhook_advice(outcome, settings)
    return Check("Webhook", ok, f"{host_of(settings.webhook_url)} {advice}").masked(settings.secrets())


def webhook_advice(outcome: Outcome, settings: DelivererSettings) -> tuple[bool, str]:
    """(passed, what it means) for the answer to the test POST."""
    status = outcome.status
    credentials = "WEBHOOK_AUTHORIZATION" + (" and WEBHOOK_SECRET" if settings.signing_secret else "")
    if status is None:
        if outcome.error.startswith("timed out"):
            return False, f"did not answer within WEBHOOK_TIMEOUT ({settings.timeout:g} s): is it up and reachable?"
        return False, f"could not be reached ({outcome.error}): check the host and port in WEBHOOK_URL, DNS and TLS"
    if outcome.ok:
        return True, f"accepted a {'signed ' if settings.signing_secret else ''}empty batch (HTTP {status})"
    if 300 <= status < 400:
        return False, f"redirects (HTTP {status}), and deliveries do not follow redirects: use the final URL"
    if status in (401, 403):
        if settings.authorization is None:
            return False, f"wants credentials (HTTP {status}): set WEBHOOK_AUTHORIZATION"
        return False, f"refused the credentials (HTTP {status}): check {credentials}"
    if status in (400, 422):
        signature = "a wrong signature (WEBHOOK_SECRET), or " if settings.signing_secret else ""
        return False, f"refused the test request (HTTP {status}): {signature}a receiver that rejects an empty batch []"
    if status == 404:
        return False, "has no such endpoint (HTTP 404): check the path in WEBHOOK_URL"
    if status == 405:
        return False, "does not take POST requests here (HTTP 405): check WEBHOOK_URL"
    if status == 410:
        return False, "says the endpoint is gone (HTTP 410): every delivery would go to the dead-letter queue"
    if outcome.retryable:
        return False, f"is failing right now (HTTP {status}); deliveries would be retried, but it must answer 2xx"
    return False, f"refused the test request (HTTP {status})"


# -- Slack ---------------------------------------------------------------------------


def slack_url_problem(url: str) -> str | None:
    """What is wrong with the shape of a Slack incoming webhook URL, if anything."""
    if _SLACK_URL.match(url):
        return None
    return "is not a Slack incoming webhook URL (those start hooks.slack.com/services/T…/B…/)"


def check_slack(url: Secret, send_test: bool) -> Check:
    """The URL's shape; with ``send_test``, whether Slack accepts a short test message."""
    return _check_slack(url, send_test).masked([url.reveal()])


def _check_slack(url: Secret, send_test: bool) -> Check:
    shown = host_of(url.reveal())
    if not send_test:
        problem = slack_url_problem(url.reveal())
        if problem:
            return Check("Slack", False, f"{shown} {problem}; --slack-test checks an endpoint of another shape")
        return Check("Slack", True, f"{shown} looks like an incoming webhook (--slack-test posts a test message)")
    try:
        reply = requests.post(
            url.reveal(),
            json={"username": USERNAME, "text": SLACK_TEST_TEXT},
            timeout=SLACK_TIMEOUT,
            allow_redirects=False,
        )
    except requests.Timeout:
        return Check("Slack", False, f"{shown} did not answer within {SLACK_TIMEOUT:g} s")
    except requests.RequestException as error:
        return Check("Slack", False, f"{shown} could not be reached ({type(error).__name__})")
    said = reply.text.strip()[:60]
    if reply.status_code == 200 and reply.text.strip() == "ok":
        return Check("Slack", True, f"{shown} accepted a test message")
    return Check("Slack", False, f"{shown} {_slack_advice(reply.status_code)} (HTTP {reply.status_code}: {said!r})")


def _slack_advice(status: int) -> str:
    if status == 200:
        return "answered, but not with Slack's 'ok': is this a Slack incoming webhook?"
    if status == 403:
        return "refused the webhook's token: it was revoked or the URL is mistyped; create a new incoming webhook"
    if status == 404:
        return "does not know this webhook: it was removed or the URL is mistyped"
    if status == 410:
        return "says the webhook's channel is archived"
    if status >= 500:
        return "is failing right now; try again later"
    return "refused the test message"


# -- routes --------------------------------------------------------------------------


def check_routes(path: Path, stack_name: str | None = None) -> list[Check]:
    """The routes check of ``path``: a ✗ line per error, a ✓ line per warning, or one ✓ line."""
    report = check_file(path, secret_prefix=stack_name)
    if not report.ok:
        return [Check("Routes", False, f"{path}: {problem}") for problem in report.errors]
    routes = ", ".join(f"{route.id} ({route.destination.type})" for route in report.routes)
    lines = [Check("Routes", True, report.summary() + (f": {routes}" if routes else ""))]
    return lines + [Check("Routes", True, f"{path}: warning: {problem}") for problem in report.warnings]


# -- all of it -----------------------------------------------------------------------


def run_checks(environ: Mapping[str, str], slack_test: bool = False) -> list[Check]:
    """Check every part of the configuration that is set."""
    env, checks = Env(environ), []
    if _any_set(environ, AUTH0_NAMES):
        checks.append(_settings_then(lambda: check_auth0(Auth0Settings.from_env(env)), "Auth0"))
        from .doctor_notify import notification_checks  # with email or slack routes: read:users

        checks += notification_checks(environ)
    if _any_set(environ, ("WEBHOOK_URL",)):
        checks.append(_settings_then(lambda: check_webhook(_deliverer_settings(environ)), "Webhook"))
    if _any_set(environ, SLACK_NAMES):

        def slack() -> Check:
            url = SlackSettings.from_env(env).url
            return check_slack(url, slack_test) if url else Check("Slack", False, "no URL")

        checks.append(_settings_then(slack, "Slack"))
    path = routes_file(environ)
    if path is not None:
        checks += check_routes(path, environ.get(STACK_NAME_SETTING, "").strip() or None)
    return checks


def _any_set(environ: Mapping[str, str], names: Iterable[str]) -> bool:
    return any(environ.get(name, "").strip() for name in names)


def _settings_then(check: Callable[[], Check], name: str) -> Check:
    try:
        return check()
    except ConfigError as error:  # names the setting and what it accepts, never its value
        return Check(name, False, str(error))


def _deliverer_settings(environ: Mapping[str, str]) -> DelivererSettings:
    """The deliverer's own reading of the webhook settings; the queues are not checked here."""
    values = {k: v for k, v in environ.items() if not k.startswith("SLACK_")}
    for name in ("QUEUE_URL", "DEAD_LETTER_QUEUE_URL"):
        values[name] = _PLACEHOLDER_QUEUE
    return DelivererSettings.from_env(values)


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """Every secret value the configuration holds, to mask in what is printed."""
    names = ("AUTH0_CLIENT_SECRET", "WEBHOOK_AUTHORIZATION", "WEBHOOK_SECRET", "SLACK_INCOMING_WEBHOOK_URL")
    return [environ[name].strip() for name in names if environ.get(name, "").strip()]

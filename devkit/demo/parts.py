"""The parts a local run starts: moto with template.yaml's resources, a tenant, receivers, settings.

``make demo`` and ``make local`` share them: :func:`started_parts` starts what is needed and
stops it all at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..aws import MotoServer, Stack
from ..receivers import SlackReceiver, WebhookReceiver
from ..template import TemplateStack, stack_from_template
from ..tenant import LocalTenant, TokenBucket
from . import mail
from .config import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, SERVICE, DemoConfig
from .routes import SIEM, STACK_NAME, DemoRoutes, example, secret_values, siem_credentials, started_routes
from .stream import LogStream


@dataclass
class Parts:
    """What the demo started, and what it uses from outside."""

    moto: MotoServer
    stack: Stack
    tenant: LocalTenant | None
    stream: LogStream | None
    webhook: WebhookReceiver | None  # with routes: the siem route's receiver, which takes every log
    slack: SlackReceiver | None
    environ: dict[str, str]  # what the functions get
    routes: DemoRoutes | None = None  # None: the default route, to WEBHOOK_URL


# template.yaml accepts only https:// URLs and a tenant domain: these stand in for the local parts,
# whose real (http://) addresses the functions then get, as devkit.template's docstring shows
PLACEHOLDER_DOMAIN = "example.eu.auth0.com"
PLACEHOLDER_WEBHOOK = "https://hooks.example.com/auth0"
PLACEHOLDER_SLACK = "https://hooks.slack.com/services/T0DEMO/B0DEMO/local"
# settings a user may give as for a deployment, and the template parameter that carries each
PARAMETERS_FROM_SETTINGS = {
    "BATCH_SIZE": "BatchSize",
    "START_FROM": "StartFrom",
    "RATE_LIMIT_RESERVE": "RateLimitReserve",
    "LOG_TYPES": "LogTypes",
    "MIN_LOG_LEVEL": "MinLogLevel",
    "API_ENDPOINTS": "ApiEndpoints",
    "SEND_AS_BATCH": "SendAsBatch",
    "WEBHOOK_CONCURRENT_CALLS": "WebhookConcurrentCalls",
    "WEBHOOK_TIMEOUT": "WebhookTimeout",
    "WEBHOOK_AUTHORIZATION": "WebhookAuthorization",
    "SLACK_SEND_SUCCESS": "SlackSendSuccess",
}
USERS_BURST, USERS_PER_SECOND = 10, 2.5  # Auth0's paid plans: ~150 user look-ups a minute, burst 10
SECRET_SETTINGS = ("AUTH0_CLIENT_SECRET", "WEBHOOK_AUTHORIZATION", "WEBHOOK_SECRET", "SLACK_INCOMING_WEBHOOK_URL")


def template_parameters(
    config: DemoConfig, given: Mapping[str, str], webhook_secret: str | None, notify: bool = False
) -> dict[str, str]:
    """The stack's parameters: the user's settings where given, else the local parts' (or placeholders);
    with ``notify``, those of e-mail notifications (:data:`.mail.PARAMETERS`)."""
    real_tenant = bool(given.get("AUTH0_DOMAIN"))
    domain = given.get("AUTH0_DOMAIN", "")
    webhook_url, slack_url = given.get("WEBHOOK_URL", ""), given.get("SLACK_INCOMING_WEBHOOK_URL", "")
    parameters = {
        "Auth0Domain": domain if real_tenant and "://" not in domain else PLACEHOLDER_DOMAIN,
        "Auth0ClientId": given.get("AUTH0_CLIENT_ID", "") if real_tenant else LOCAL_CLIENT_ID,
        "Auth0ClientSecret": given.get("AUTH0_CLIENT_SECRET", "") if real_tenant else LOCAL_CLIENT_SECRET,
        "WebhookUrl": webhook_url if webhook_url.startswith("https://") else PLACEHOLDER_WEBHOOK,
        "WebhookSecret": webhook_secret or "",
        "SlackIncomingWebhookUrl": slack_url if slack_url.startswith("https://") else PLACEHOLDER_SLACK,
        "SlackSendSuccess": "false" if config.faults else "true",
        "MaxReceiveCount": given.get("MAX_RECEIVE_COUNT", "3"),  # low, so that giving up shows within the demo
    }
    parameters.update({p: given[name] for name, p in PARAMETERS_FROM_SETTINGS.items() if given.get(name)})
    if notify:
        parameters.update(mail.PARAMETERS)
    return parameters


def function_environ(
    stack: TemplateStack,
    given: Mapping[str, str],
    moto: MotoServer,
    tenant: LocalTenant | None,
    webhook: WebhookReceiver | None,
) -> dict[str, str]:
    """Both functions' settings as the template sets them, pointed at the local parts where there are some.

    The two functions share this process, so they share one environment: the template gives them
    the same values for the settings both read.
    """
    values = {**stack.environ_for("poller"), **stack.environ_for("deliverer"), **moto.environ()}
    values.update(
        POWERTOOLS_SERVICE_NAME=SERVICE,  # one logger for both, which the demo reads
        POWERTOOLS_METRICS_NAMESPACE="Auth0WebhooksDemo",
        POWERTOOLS_LOG_LEVEL="INFO",  # logs.jsonl holds what CloudWatch would: each notification's outcome too
        RETRY_BASE_SECONDS=given.get("RETRY_BASE_SECONDS", "1"),  # local only: retries within the demo's time
        RETRY_MAX_SECONDS=given.get("RETRY_MAX_SECONDS", "4"),
        BREAKER_FAILURES=given.get("BREAKER_FAILURES", "3"),  # local only: a route pauses within the demo
        BREAKER_PROBE_SECONDS=given.get("BREAKER_PROBE_SECONDS", "2"),  # and is probed within it
    )
    if tenant is not None:
        values["AUTH0_DOMAIN"] = tenant.url
    elif "://" in given.get("AUTH0_DOMAIN", ""):
        values["AUTH0_DOMAIN"] = given["AUTH0_DOMAIN"]
    if webhook is not None:
        values.update(WEBHOOK_URL=f"{webhook.url}/auth0", ALLOW_INSECURE_WEBHOOK="true")
    elif not given.get("WEBHOOK_URL", "").startswith("https://"):
        values.update(WEBHOOK_URL=given["WEBHOOK_URL"], ALLOW_INSECURE_WEBHOOK="true")
    return values


@contextlib.contextmanager
def started_parts(config: DemoConfig, given: Mapping[str, str], notify: bool = False) -> Iterator[Parts]:
    """Start moto with the template's resources, and whichever local stand-ins are needed; stop all at the end.

    With ``notify`` (``make demo``), the example's routes are followed by :mod:`.mail`'s notification
    routes, when the tenant is the local one (a real tenant's users are real people)."""
    real_tenant = bool(given.get("AUTH0_DOMAIN"))
    if real_tenant and not (given.get("AUTH0_CLIENT_ID") and given.get("AUTH0_CLIENT_SECRET")):
        raise SystemExit("demo: with AUTH0_DOMAIN set, also set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET")
    if any(given.get(f"{name}_ARN") for name in SECRET_SETTINGS):
        raise SystemExit("demo: give secrets as values (the demo keeps them in Secrets Manager on moto), not _ARN")
    with contextlib.ExitStack() as stack:
        moto = stack.enter_context(MotoServer())  # its own session: Ctrl-C leaves it to us to stop
        tenant = webhook = slack = None
        stream: LogStream | None = None
        routed = not given.get("WEBHOOK_URL")  # the example's three routes, unless WEBHOOK_URL names yours
        notify = notify and routed and not real_tenant
        secret = given.get("WEBHOOK_SECRET") or None
        values = secret_values(example()) if routed else {}
        if routed:  # the default settings describe the siem receiver too, so `make doctor` checks a real one
            authorization, secret = siem_credentials(values)
            given = {**given, "WEBHOOK_AUTHORIZATION": authorization}
        if not real_tenant:
            bucket = TokenBucket(burst=3, rate=1.5) if config.faults else TokenBucket(burst=50, rate=None)
            # the user look-ups' own limit, as on Auth0's paid plans: the faults are the log reads' and the security
            # receiver's (on the Free plan, look-ups share the log reads' limit; the notification routes then wait)
            users = TokenBucket(burst=USERS_BURST, rate=USERS_PER_SECOND) if config.faults else None
            scope = "read:logs read:users"  # read:users: notification routes look the users up
            tenant = stack.enter_context(
                LocalTenant(LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, scope, bucket=bucket, users_bucket=users)
            )
            stream = LogStream(tenant, config, None)
            tenant.add_users(stream.factory.profiles())  # every user the logs name has a profile
        try:
            parameters = template_parameters(config, given, secret, notify)
            resources = stack_from_template(moto.url, parameters, stack_name=STACK_NAME if routed else None)
        except ValueError as error:
            raise SystemExit(f"demo: template.yaml refuses these settings: {error}") from None
        routes = None
        if routed:
            routes = stack.enter_context(
                started_routes(resources, config.directory, config.faults, config.seed, values, notify)
            )
            webhook = routes.receivers[SIEM]
        if not given.get("SLACK_INCOMING_WEBHOOK_URL"):
            slack = stack.enter_context(SlackReceiver())
            resources.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0DEMO/B0DEMO/local")
        environ = function_environ(resources, given, moto, tenant, webhook)
        if routes is not None:
            environ["ROUTES_FILE"] = str(routes.path)
        if notify:  # deployed, the templates sit beside the routes file in /opt; here they stay in config/
            environ["TEMPLATES_DIR"] = str(mail.TEMPLATES)
        yield Parts(moto, resources, tenant, stream, webhook, slack, environ, routes)

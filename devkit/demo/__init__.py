"""``make demo``: the real poller and deliverer, end to end, on this machine.

moto's server stands in for AWS, with template.yaml's own queue, dead-letter queue, checkpoint
table and secrets (``devkit.template``); a local Auth0 tenant produces a live stream of logs;
the poller runs on a schedule and the deliverer drains the queue through an emulated SQS event
source, both with the settings the template gives them. They run ``config/routes.yaml``'s
commented example, uncommented, with three routes (``routes``): a SIEM-like receiver gets every
log as gzipped JSON lines with PII hashed and checks every Standard Webhooks signature; a
security receiver gets only blocked accounts and breached passwords in the Log Streams format;
an EventBridge bus on moto gets Management API changes and failed logins, read back through a
rule targeting an SQS queue. Two notification routes of its own follow (``mail``): the user a
password change or a blocked account is about gets an e-mail, looked up on the local tenant and
sent through SES on moto (the stack is made with ``Notifications=true``). A live table shows
progress every second (one plain line a second when the output is not a terminal); a summary
says what arrived where (for the notification routes, what became of every log they match; the
last mails are written as HTML files under ``DEMO_DIR/mails``), and how long logs took from
their ``date`` to their delivery, here and on the deployed one-minute schedule
(``devkit.latency``).

Settings (environment):

- ``DEMO_SECONDS`` (30): how long the tenant keeps producing logs; then the pipeline drains
  for up to ``DEMO_DRAIN_SECONDS`` (20) and the demo ends. Ctrl-C stops it at once.
- ``DEMO_FAULTS=1``: the security route's receiver answers 503 to every request until its route has
  paused (``routes``), and the tenant rate-limits its log reads (user look-ups have a limit of their
  own). That route's logs wait for its probe, or are dead-lettered with the route's id; the other
  routes get all of theirs. (With ``WEBHOOK_URL``, only the tenant's rate limit.)
- ``DEMO_LOGS_PER_SECOND`` (6), ``DEMO_BACKLOG`` (500 logs of history), ``DEMO_POLL_SECONDS`` (2),
  ``DEMO_DIR`` (``.demo``: the functions' JSON logs, a ``summary.json`` and the last mails under
  ``mails/``), ``DEMO_SEED``.
- ``AUTH0_DOMAIN`` with ``AUTH0_CLIENT_ID`` and ``AUTH0_CLIENT_SECRET``: read that tenant instead
  of the local one. ``WEBHOOK_URL`` (and ``WEBHOOK_SECRET``, ``WEBHOOK_AUTHORIZATION``): deliver
  there instead, through the one ``default`` route (no routes file). ``SLACK_INCOMING_WEBHOOK_URL``:
  alert there. Other settings of the functions (``LOG_TYPES``, ``BATCH_SIZE``, ``SEND_AS_BATCH``,
  ``WEBHOOK_CONCURRENT_CALLS`` …) apply as usual; with the routes, each route's ``match`` decides.

Run it with ``make demo`` or ``.venv/bin/python -m devkit.demo``.

Modules, one idea each: ``config`` (settings), ``stream`` (the tenant's logs), ``parts`` (what a
local run starts; ``make local`` uses it too), ``pipeline`` (the functions on their triggers),
``tally`` (their run results, summed), ``live`` (the live table), ``routes`` (the example's
routes, its receivers and bus), ``mail`` (the notification routes and their mails), ``arrivals``
(what each route got), ``summary`` (what arrived where), ``report`` (set-up and summary text),
``run`` (the run itself).
"""

from .config import DemoConfig
from .run import main, run

__all__ = ["DemoConfig", "main", "run"]

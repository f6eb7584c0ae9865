"""auth0-webhooks: Auth0 tenant logs to reliable webhook deliveries.

The package is shipped as a SAM layer; the Lambda handlers under ``functions/`` wire
settings and clients to it. ARCHITECTURE.md follows one log through these modules.
One module, one idea:

Runtime: reading logs (the poller)

- ``poller``: one poller run that ties the reading side together
- ``auth0_source``: tokens and log pages from the Management API
- ``log_entry``: a log entry (``LogEntry``) and its id, date and type
- ``filters``: which logs to keep (type, level, Management API endpoint)
- ``checkpoint``: the DynamoDB checkpoint, moved only forward and only conditionally
- ``messages``: SQS messages of logs: body, attributes, size limits
- ``queue``: size-aware batches, sent in order to the queue or the dead-letter queue
- ``dead_letters``: every dead-letter message, its attributes and reason

Runtime: time windows (start points, the parallel backlog drain, replays)

- ``log_ids``: the UTC time in a log id, synthetic ids made from a time, the ids' shape check
- ``start_points``: ``START_FROM`` as now, a date, a duration or a log id, and its checkpoint
- ``search_mode``: search-mode reads: newest and oldest log, date ranges past the 1,000 cap
- ``windows``: a range of ids, or the logs dated in [T1, T2), read by checkpoint mode
- ``slices``: a backlog split into time slices, read on threads, checkpoint over the done prefix
- ``ratelimit``: one client-side token bucket fed by ``x-ratelimit-*``, with a reserve
- ``backlog``: when a poller run is far enough behind to drain in slices
- ``handoff``: a run out of time with a backlog starts the next one at once

Runtime: delivering logs (the deliverer)

- ``deliverer``: SQS records → each route's destination, retries and partial batch failures
- ``records``: an SQS record as the deliverer reads it (logs from its body, attempt number, route)
- ``delivery_routes``: the deliverer's routes at cold start (the routes file, or ``default``)
- ``destinations``: a route's destination (webhook, EventBridge) and how a new type plugs in
- ``pace``: ``max_per_second``, a ceiling on requests a second to one destination
- ``webhook``: one POST to the webhook, its outcome, and the retry backoff
- ``signing``: Standard Webhooks signatures and batch ids
- ``health``: each route's circuit breaker, held messages and delivery record (see ``health/__init__.py``)

Runtime: routes and notifications (sub-packages; each ``__init__.py`` maps its modules)

- ``routes``: the routes file (schema, checks), each route's match, PII rules, body formats
  and the EventBridge sender
- ``notify``: e-mail and Slack notifications from Liquid templates, recipients looked up in
  Auth0, sent once per person and event

Runtime: alerts, settings and what they share

- ``alerts``: Slack alerts, rate-limited per container, sent off the delivery path
- ``alarms``: CloudWatch alarm changes read out of SNS messages, forwarded by the alerter
- ``metrics``: each CloudWatch metric's unit, published by the handlers
- ``redaction``: what of a secret, URL or error may be shown
- ``settings``: each function's settings, checked at start
- ``env``: typed reads of the environment, and secrets (by value or ``NAME_ARN``)
- ``clients``: AWS clients and the HTTP session, cached per container
- ``deadline``: a deadline on a whole HTTP exchange, and a cap on how much of an answer is read
- ``budget``: a call that cannot be cut (DynamoDB) starts only with the time to finish it
- ``errors``: the library's exceptions

Operator tools (never imported by the handlers)

- ``ops``: ``auth0-webhooks <command>``: ``doctor``, ``redrive``, ``routes`` (see ``ops/__init__.py``)
"""

__version__ = "0.2.0"

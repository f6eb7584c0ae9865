"""Developer-machine stand-ins and runners: never shipped in a Lambda package.

- ``tenant``: a local Auth0 tenant (tokens, log pages, rate limits, faults)
- ``logs``: synthetic Auth0 log entries
- ``aws``: moto's server in a subprocess, and the queues and table the functions use
- ``template``: template.yaml's own queues, table and secrets on moto, and each function's environment
- ``proxy``: an HTTP proxy that fails chosen requests (to break SQS on purpose)
- ``http``: the small threaded HTTP server the above are built on
- ``receivers``: local webhook and Slack receivers that record what they get and fail on request
- ``event_source``: Lambda's SQS event source, emulated (receive, invoke, delete or leave for a retry)
- ``lambda_context``: a Lambda context with a real deadline
- ``latency``: a log's date to its delivery, and what it would be on the deployed schedule
- ``demo``: ``make demo``, a package: ``config``, ``stream``, ``parts``, ``pipeline``, ``tally``,
  ``live``, ``summary``, ``report``, ``run``
- ``local``: ``make local``, the demo's parts up until Ctrl-C, with the environment for the operator commands
- ``bench``: ``make bench``, a package: ``config``, ``runner``, ``throughput``, ``footprint``,
  ``tools``, ``cost`` (per log), ``fixed_cost`` (a month, from template.yaml), ``report``, ``cli``
"""

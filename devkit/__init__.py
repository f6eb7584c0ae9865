"""Developer-machine stand-ins and runners: never shipped in a Lambda package.

- ``tenant``: a local Auth0 tenant (tokens, log pages, rate limits, faults)
- ``logs``: synthetic Auth0 log entries
- ``aws``: moto's server in a subprocess, and the queues and table the functions use
- ``template``: template.yaml's own queues, table and secrets on moto, and each function's environment
- ``proxy``: an HTTP proxy that fails chosen requests (to break SQS on purpose)
- ``http``: the small threaded HTTP server the above are built on
"""

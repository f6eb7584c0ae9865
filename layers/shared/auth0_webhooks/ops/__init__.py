"""Operator tools, run from a workstation against a deployed stack or a configuration, never in Lambda.

Each tool's core (what it checks or moves, and its report) is a module of its own; its
command-line parsing is in ``<tool>_command``; :mod:`.cli` is the one command,
``auth0-webhooks <command>``, that runs them all. The Lambda handlers never import this package.

- ``doctor``: check the Auth0 credentials, the webhook and the Slack URL of a configuration
- ``redrive``: move dead-lettered logs back to the main queue, paced, and report what moved
- ``redrive_report``: what a redrive moved or would move, by route and reason, and what stayed
- ``routes``: ``routes check``, a routes file's errors and warnings (its core is ``auth0_webhooks.routes.check``);
  ``routes list``, ``routes pause ID``, ``routes resume ID``: a deployed stack's routes, their breakers by hand
- ``status``: the stack at a glance: the poller, each route's breaker and record, the queues, a verdict each
- ``replay``: send a past time window's logs again, to all routes or some, resumably
- ``args``: the argument types several commands share (route ids, log type codes)
- ``aws``: AWS errors in words an operator can act on, and a stack's outputs (queues, table)
- ``cli``: ``auth0-webhooks <command>``; ``COMMANDS`` lists the commands
"""

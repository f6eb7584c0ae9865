"""Notifications for any event: an e-mail to the user a log is about, or a Slack message, from a template.

- :mod:`.event`: the allow-listed ``event`` object templates see (never the raw log);
- :mod:`.templates`: Liquid templates under ``config/templates/<name>/`` and their validation;
- :mod:`.recipients`: the user's address from ``GET /api/v2/users/{id}``, cached, rate-limit aware;
- :mod:`.ledger`: exactly once per route and log, and a per-recipient limit, in DynamoDB;
- :mod:`.ses` and :mod:`.slack`: the two ways out;
- :mod:`.notifier`: all of it for one log (:meth:`Notifier.notify`, :meth:`Notifier.preview`).

Importing this package imports none of them; ``templates`` (and so ``notifier``) imports ``liquid``,
which costs about 160 ms: import them only where a route has an ``email`` or ``slack`` destination.
"""

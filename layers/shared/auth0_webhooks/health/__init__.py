"""Route health: a circuit breaker per route, the held-message requeue, and each route's delivery record.

- ``breaker``: closed / open (paused) / half-open, shared in DynamoDB, one probe at a time
- ``holds``: a message held while its route is paused goes back to the queue without spending an attempt
- ``record``: each route's delivery record (last success, last failures, counts), flushed once per invocation
"""

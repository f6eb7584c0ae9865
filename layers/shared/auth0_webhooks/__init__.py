"""auth0-webhooks: Auth0 tenant logs to reliable webhook deliveries.

The package is shipped as a SAM layer; the Lambda handlers under ``functions/`` wire
settings and clients to it. One module, one idea:

- ``settings``: typed settings read from the environment, checked at start
- ``auth0_source``: tokens and log pages from the Management API
- ``filters``: which logs to keep (type, level, Management API endpoint)
- ``checkpoint``: the DynamoDB checkpoint, moved only forward and only conditionally
- ``queue``: size-aware SQS batches and the dead-letter queue
- ``poller``: one poller run that ties the above together
- ``alarms``: CloudWatch alarm changes read out of SNS messages (for the alerter)
"""

__version__ = "0.2.0"

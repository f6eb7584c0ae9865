"""AWS for the operator tools: its errors in words an operator can act on, and a stack's outputs.

Every tool that reads a deployed stack (redrive today; status and replay later) finds its
queues here and reports AWS failures the same way.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from ..errors import Auth0WebhooksError
from ..redaction import redact

STACK_OUTPUTS = ("QueueUrl", "DeadLetterQueueUrl")


class OperatorError(Auth0WebhooksError):
    """Something an operator can fix, said in plain words."""


def plain_error(error: Exception) -> str:
    """What went wrong with AWS, in words an operator can act on (no traceback, no secret)."""
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_REGION or pass --region"
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code, message = str(info.get("Code", "")), str(info.get("Message", ""))
        action = f"{error.operation_name}"
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return f"the queue does not exist (check the URL and the region); {action} failed"
        if code.startswith("AccessDenied") or code in ("UnauthorizedOperation", "AuthorizationError"):
            return f"no permission: this AWS identity may not call {action} here ({redact(message)})"
        if code in ("InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "SignatureDoesNotMatch"):
            return f"the AWS credentials were refused ({code}): are they expired or for another account?"
        return f"{action} failed: {code}: {redact(message)}"
    return redact(str(error)) or type(error).__name__


def stack_queues(cloudformation: Any, stack: str) -> tuple[str, str]:
    """The queue URLs from a deployed stack's outputs ``QueueUrl`` and ``DeadLetterQueueUrl``."""
    outputs = stack_outputs(cloudformation, stack, STACK_OUTPUTS)
    return outputs["QueueUrl"], outputs["DeadLetterQueueUrl"]


def stack_table(cloudformation: Any, stack: str) -> str:
    """The checkpoint table from a deployed stack's output ``CheckpointTableName``."""
    return stack_outputs(cloudformation, stack, ("CheckpointTableName",))["CheckpointTableName"]


def stack_outputs(cloudformation: Any, stack: str, names: tuple[str, ...]) -> dict[str, str]:
    """The named outputs of a deployed stack; an OperatorError when the stack or an output is missing."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            raise OperatorError(f"there is no stack named {stack} in this account and region") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in names if name not in outputs]
    if missing:
        raise OperatorError(f"stack {stack} has no output {missing[0]}: is it an auth0-webhooks stack?")
    return {name: outputs[name] for name in names}

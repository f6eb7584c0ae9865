"""A stand-in for the Lambda context object: a real deadline on the real clock."""

from __future__ import annotations

import time
import uuid


class LambdaContext:
    def __init__(
        self, seconds: float = 60.0, function_name: str = "auth0-webhooks-local", memory_mb: int = 256
    ) -> None:
        self.deadline = time.monotonic() + seconds
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.deadline - time.monotonic()) * 1000)

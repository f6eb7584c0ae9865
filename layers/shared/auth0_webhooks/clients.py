"""Clients cached per container: the only global state the package keeps.

AWS endpoints come from boto3's standard configuration (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``); the cache is keyed by them so that a process that points
boto3 elsewhere gets a new client.

The HTTP libraries' own loggers are held at WARNING whatever the root logger's level (Lambda's
DEBUG application log level sets the root): at DEBUG, urllib3 logs request lines (webhook and
Slack URL paths and queries) and botocore logs request bodies (log entries).
"""

from __future__ import annotations

import logging
import os
import urllib.request
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import requests
from botocore.config import Config

from .deadline import DeadlineAdapter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

QUIET_LOGGERS = ("urllib3", "botocore", "boto3", "s3transfer", "requests")
for _name in QUIET_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)

AWS_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
# EventBridge: one attempt of at most 8 s a call; the destination retries what failed within its deadline
EVENTS_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 1})
# DynamoDB calls made against an invocation's deadline (a route's breaker and delivery record, the
# notification ledger; see budget.py): one attempt of at most 1 s to connect and 3 s to read, so one
# call ends within DEADLINE_CALL_SECONDS. No retry of its own: a conditional write retried after a
# read timeout may have been applied already, and the breaker would count its change twice; a failed
# call is the caller's to handle (botocore's ``max_attempts`` counts retries, ``total_max_attempts`` all).
DEADLINE_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 1})
DEADLINE_CALL_SECONDS = 1.0 + 3.0


@cache
def _aws_client(service: str, endpoint: str | None, region: str | None, config: Config = AWS_CONFIG) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=config)  # type: ignore[call-overload]


def aws_client(service: str, config: Config = AWS_CONFIG) -> Any:
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _aws_client(service, endpoint, region, config)


def events() -> Any:
    """EventBridge, with :data:`EVENTS_CONFIG`'s short timeouts and no retries of its own."""
    return aws_client("events", EVENTS_CONFIG)


def sqs() -> SQSClient:
    client: SQSClient = aws_client("sqs")
    return client


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = aws_client("dynamodb")
    return client


def dynamodb_within_deadline() -> DynamoDBClient:
    """DynamoDB with :data:`DEADLINE_CONFIG`: for calls started only with DEADLINE_CALL_SECONDS left."""
    client: DynamoDBClient = aws_client("dynamodb", DEADLINE_CONFIG)
    return client


@cache
def http_session(pool_size: int = 10) -> requests.Session:
    """One pooled session per pool size, reused across invocations (keep-alive connections).

    requests reads proxy, CA-bundle and .netrc settings from the environment on every request,
    scanning all of ``os.environ`` each time. With no proxy configured, read the CA bundle
    once here instead and turn that off: it is a third of the CPU of a webhook POST.
    Its connections obey :func:`deadline.deadline`.
    """
    session = requests.Session()
    if not urllib.request.getproxies():
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = DeadlineAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session

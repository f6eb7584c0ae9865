"""The operator commands' exit codes, run as a user runs them: `auth0-webhooks <command>`
(`python -m auth0_webhooks.ops`) and through `make`.

Each exits 0 when it did its work, 1 when a check or the redrive failed (its one line says why, no
traceback) and 2 for a wrong command line (argparse). `make` turns any failure into its own 2 and
names the command's code on stderr ("make: *** [...] Error 1"), as the README says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from devkit.aws import MotoServer
from devkit.receivers import WebhookReceiver
from tests.conftest import AUTHORIZATION, ROOT, SIGNING_SECRET

MAKE = shutil.which("make") or "make"
NO_MAKE = shutil.which("make") is None


def clean_environ(**values: str) -> dict[str, str]:
    """This process's environment without any setting the commands read, plus `values`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "WEBHOOK_", "SLACK_", "QUEUE_"))}
    kept.pop("DEAD_LETTER_QUEUE_URL", None)
    kept.pop("ALLOW_INSECURE_WEBHOOK", None)
    kept.pop("ROUTES_FILE", None)
    kept.pop("STACK_NAME", None)
    return {**kept, **values}


def run(command: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120, check=False)


def module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "auth0_webhooks.ops", name, *args]


def through_make(target: str, *args: str) -> list[str]:
    return [MAKE, "--no-print-directory", target, f"ARGS={' '.join(args)}"]


def test_doctor_exits_0_when_every_check_passed(webhook: WebhookReceiver):
    environ = clean_environ(
        WEBHOOK_URL=f"{webhook.url}/hook",
        ALLOW_INSECURE_WEBHOOK="true",
        WEBHOOK_AUTHORIZATION=AUTHORIZATION,
        WEBHOOK_SECRET=SIGNING_SECRET,
    )
    result = run(module("doctor"), environ)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("✓ Webhook:")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "✗ Nothing to check: set AUTH0_DOMAIN"),
        ({"WEBHOOK_URL": "ftp://example.com/hook"}, "✗ Webhook: WEBHOOK_URL must be an https:// URL"),
    ],
)
def test_doctor_exits_1_with_one_line_and_no_traceback(environ: dict[str, str], expected: str):
    result = run(module("doctor"), clean_environ(**environ))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [result.stdout.splitlines()[0]] and result.stdout.startswith(expected)
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.skipif(NO_MAKE, reason="make is not installed")
def test_make_doctor_fails_and_names_the_commands_exit_code():
    result = run(through_make("doctor"), clean_environ(WEBHOOK_URL="ftp://example.com/hook"))
    assert result.returncode == 2  # make's own code for a failed recipe
    assert "✗ Webhook: WEBHOOK_URL must be an https:// URL" in result.stdout
    assert "doctor] Error 1" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_redrive_exits_1_when_it_cannot_work_and_2_for_a_wrong_command_line(moto: MotoServer):
    environ = clean_environ(**moto.environ())
    missing = run(module("redrive", "--stack", "no-such-stack"), environ)
    usage = run(module("redrive"), environ)

    assert missing.returncode == 1
    assert missing.stderr == "redrive: there is no stack named no-such-stack in this account and region\n"
    assert usage.returncode == 2
    assert usage.stderr.splitlines()[-1].endswith("error: give --stack, or --queue-url and --dead-letter-queue-url")
    assert "Traceback" not in missing.stderr + usage.stderr


@pytest.mark.parametrize(
    ("command", "prefix"),
    [(("status",), "status"), (("routes", "list"), "routes list"), (("routes", "pause", "siem"), "routes pause")],
)
def test_a_missing_stack_is_named_the_same_by_every_command(moto: MotoServer, command: tuple[str, ...], prefix: str):
    result = run(module(*command, "--stack", "no-such-stack"), clean_environ(**moto.environ()))

    assert result.returncode == 1
    assert result.stderr == f"{prefix}: there is no stack named no-such-stack in this account and region\n"


@pytest.mark.skipif(NO_MAKE, reason="make is not installed")
def test_make_redrive_fails_and_names_the_commands_exit_code(moto: MotoServer):
    result = run(through_make("redrive", "--stack", "no-such-stack"), clean_environ(**moto.environ()))
    assert result.returncode == 2
    assert "redrive: there is no stack named no-such-stack in this account and region" in result.stderr
    assert "redrive] Error 1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(NO_MAKE, reason="make is not installed")
def test_make_routes_check_passes_on_the_shipped_file_and_fails_on_a_bad_one(tmp_path):
    bad = tmp_path / "routes.yaml"
    bad.write_text("routes:\n  - id: a\n    destination: {type: eventbridge}\n")

    shipped = run(through_make("routes-check", "--stack", "auth0-webhooks"), clean_environ())
    failed = run(through_make("routes-check"), clean_environ(ROUTES_FILE=str(bad)))

    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "config/routes.yaml: OK, " in shipped.stdout
    assert failed.returncode == 2  # make's own code for a failed recipe
    assert f"{bad}: 1 error\n  error: route a: destination.bus: is required" in failed.stdout
    assert "routes-check] Error 1" in failed.stderr and "Traceback" not in failed.stdout + failed.stderr

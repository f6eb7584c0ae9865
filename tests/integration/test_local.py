"""`make local` stays up, prints an environment, and the operator commands work against it."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT

OUTSIDE = ("AUTH0_", "WEBHOOK_", "SLACK_", "AWS_", "CHECKPOINT_TABLE", "QUEUE_URL", "DEAD_LETTER_QUEUE_URL")


def readme_poller_command() -> str:
    """The command the README's "Running the poller locally" section gives, as written."""
    section = (ROOT / "README.md").read_text().split("## Running the poller locally", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return next(line for line in block.splitlines() if line.startswith(".venv/bin/python"))


@pytest.mark.timeout(120)
def test_the_operator_commands_run_against_the_local_stack_until_it_is_stopped(tmp_path):
    clean = {name: value for name, value in os.environ.items() if not name.startswith(OUTSIDE)}
    local = subprocess.Popen(
        [sys.executable, "-m", "devkit.local"],
        cwd=ROOT,
        env={**clean, "LOCAL_DIR": str(tmp_path), "LOCAL_POLL_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert local.stdout is not None
        printed = []
        for line in local.stdout:
            printed.append(line)
            if line.strip() == "ready":
                break
        exported = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in printed if line.startswith("export ")
        )
        assert {"AWS_ENDPOINT_URL", "AUTH0_DOMAIN", "WEBHOOK_URL", "QUEUE_URL", "DEAD_LETTER_QUEUE_URL"} <= set(
            exported
        )
        assert (tmp_path / "env.sh").read_text().splitlines() == [
            line.strip() for line in printed if line.startswith("export ")
        ]
        assert not any(name.startswith("SLACK_") for name in exported)
        environ = {**clean, **exported}

        def run(command: list[str] | str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                command,
                check=False,
                cwd=ROOT,
                env=environ,
                capture_output=True,
                text=True,
                timeout=60,
                shell=isinstance(command, str),
            )

        doctor = run([sys.executable, "-m", "auth0_webhooks.ops", "doctor"])
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert re.search(r"✓ Auth0: .*can read logs", doctor.stdout) and "✓ Webhook" in doctor.stdout

        redrive = run([sys.executable, "-m", "auth0_webhooks.ops", "redrive", "--dry-run"])
        assert redrive.returncode == 0, redrive.stdout + redrive.stderr

        poller = run(readme_poller_command())
        assert poller.returncode == 0, poller.stdout + poller.stderr
        # the local stack's own poller runs on a schedule too: this run may find it holding the lease
        assert re.search(r"'stopped': '(caught-up|lost-race|leased)'", poller.stdout), poller.stdout
    finally:
        local.send_signal(signal.SIGINT)
        rest, _ = local.communicate(timeout=30)
    assert local.returncode == 0, "".join(printed) + rest
    assert rest.strip().endswith("stopped")

"""Release basics: one version everywhere, the licence, SAR metadata, retained storage, `make help`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from auth0_webhooks import __version__
from auth0_webhooks.webhook import USER_AGENT

from devkit.template import load_template
from tests.conftest import ROOT

TEMPLATE = load_template()
MAKE = shutil.which("make") or "make"
NO_MAKE = shutil.which("make") is None


def test_one_version_in_the_package_user_agent_template_readme_and_changelog():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    sar = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"]
    readme = re.search(r"^auth0-webhooks (\d+\.\d+\.\d+) ·", (ROOT / "README.md").read_text(), re.MULTILINE)
    changelog = re.search(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert readme and changelog
    assert {pyproject, str(sar), readme.group(1), changelog.group(1)} == {__version__}
    assert USER_AGENT.split("/") == ["auth0-webhooks", __version__]


def test_the_licence_is_mit_everywhere_it_is_named():
    sar = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    assert sar["SpdxLicenseId"] == "MIT"


def test_the_serverless_application_repository_metadata_is_complete():
    sar = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]
    assert {"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "SemanticVersion"} <= set(sar)
    assert (ROOT / sar["LicenseUrl"]).is_file() and (ROOT / sar["ReadmeUrl"]).is_file()
    assert re.fullmatch(r"[a-z0-9-]{1,140}", sar["Name"])  # SAR's rule for application names
    assert len(sar["Description"]) <= 256


def test_the_checkpoint_table_and_the_dead_letter_queue_outlive_the_stack():
    resources = TEMPLATE["Resources"]
    retained = {
        name
        for name, resource in resources.items()
        if resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain"
    }
    assert retained == {"CheckpointTable", "DeadLetterQueue"}
    assert "DeletionPolicy" not in resources["Queue"]  # in-flight logs: the README says drain before deleting


def test_the_dashboard_is_optional_and_off_by_default():
    assert TEMPLATE["Parameters"]["CreateDashboard"]["Default"] == "false"
    assert TEMPLATE["Resources"]["Dashboard"]["Condition"] == "HasDashboard"
    assert TEMPLATE["Outputs"]["DashboardUrl"]["Condition"] == "HasDashboard"


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", text, re.MULTILINE))


@pytest.mark.skipif(NO_MAKE, reason="make is not installed")
def test_make_help_lists_every_target_once():
    done = subprocess.run([MAKE, "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    listed = [re.match(r"make (\S+)\s{2,}\S", line) for line in done.stdout.splitlines()]
    assert all(listed), done.stdout
    names = [match.group(1) for match in listed if match]
    assert len(names) == len(set(names))
    assert set(names) == makefile_targets()


@pytest.mark.skipif(NO_MAKE, reason="make is not installed")
def test_a_missing_python_3_13_is_explained_before_sam_build(tmp_path: Path):
    for tool in ("cat", "cksum", "cut"):  # what the Makefile's variables run; no Python on this PATH
        found = shutil.which(tool)
        assert found, tool
        (tmp_path / tool).symlink_to(found)
    env = {"PATH": str(tmp_path), "HOME": os.environ.get("HOME", "/tmp")}
    missing = subprocess.run(
        [MAKE, "-s", "check-build-python"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    in_docker = subprocess.run(
        [MAKE, "-s", "check-build-python", "SAM_BUILD_ARGS=--use-container"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    fake = tmp_path / "python3.13"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    present = subprocess.run(
        [MAKE, "-s", "check-build-python"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert missing.returncode != 0
    assert "sam build needs python3.13 on PATH" in missing.stderr
    assert "SAM_BUILD_ARGS=--use-container" in missing.stderr
    assert in_docker.returncode == 0 and in_docker.stderr == ""
    assert present.returncode == 0 and present.stderr == ""

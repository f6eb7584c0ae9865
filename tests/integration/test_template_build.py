"""`sam build` builds the layer and the functions, where the runtime's Python is on this machine.

SAM builds Python without a container by running ``python3.X`` (the template's runtime) from
PATH. It is looked for there and in pyenv's versions; without it the test is skipped, saying so.
The build downloads the layer's requirements for the template's architecture from PyPI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.template import load_template
from tests.conftest import ROOT

SAM = ROOT / ".venv" / "tools" / "aws-sam-cli" / "bin" / "sam"  # installed by `make lint-template`


def runtime_python(version: str) -> Path | None:
    """An interpreter of exactly this version: on PATH, or one of pyenv's."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    on_path = shutil.which(f"python{version}")
    candidates = [Path(on_path)] if on_path else []
    candidates += sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        try:
            done = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.startswith(f"Python {version}."):
            return Path(candidate)
    return None


@pytest.mark.timeout(600)  # a first build downloads the layer's requirements (about a minute)
def test_sam_build_builds_the_layer_and_functions_for_the_runtime(tmp_path):
    template = load_template()
    runtime = template["Globals"]["Function"]["Runtime"]
    architecture = template["Globals"]["Function"]["Architectures"][0]
    version = runtime.removeprefix("python")
    if not SAM.exists():
        pytest.skip(f"sam build not tried: no SAM CLI at {SAM.relative_to(ROOT)} (run `make lint-template`)")
    python = runtime_python(version)
    if python is None:
        pytest.skip(f"sam build not tried: the template's runtime, Python {version}, is not on this machine")

    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    command = [str(SAM), "build", "--build-dir", str(tmp_path / "build"), "--cached"]
    command += ["--cache-dir", str(ROOT / ".aws-sam" / "cache")]  # later runs reuse the layer's downloads
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    build = tmp_path / "build"
    layer = build / "SharedLayer" / "python"
    assert (layer / "auth0_webhooks" / "__init__.py").is_file()
    assert (layer / "auth0_webhooks" / "log_types.tsv").is_file()
    requirements = (ROOT / "layers" / "shared" / "requirements.txt").read_text()
    installed = {d.name.removesuffix(".dist-info").lower() for d in layer.glob("*.dist-info")}  # name-version
    for name, pinned in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.MULTILINE):
        wanted = f"{re.sub(r'[-_.]+', '_', name).lower()}-{pinned}"
        assert wanted in installed, f"{name}=={pinned} not in the layer"
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    binaries = list(layer.rglob("*.so"))
    assert binaries and all(
        f"cpython-{version.replace('.', '')}-{machine}" in b.name for b in binaries if "cpython" in b.name
    )
    built = load_template(build / "template.yaml")
    for name in ("poller", "deliverer", "alerter"):
        function = built["Resources"][f"{name.capitalize()}Function"]["Properties"]
        assert (build / function["CodeUri"] / "app.py").is_file()
        assert not (build / function["CodeUri"] / "auth0_webhooks").exists(), "the library ships in the layer only"


@pytest.mark.timeout(300)
def test_sam_package_uploads_the_application_repository_readme_and_licence(tmp_path, moto):
    """A dry run of publishing: `sam package` to moto's S3, offline, as `sam publish` would read it."""
    if not SAM.exists():
        pytest.skip(f"sam package not tried: no SAM CLI at {SAM.relative_to(ROOT)} (run `make lint-template`)")
    import boto3

    bucket = f"package-{tmp_path.name.lower().replace('_', '-')}"[:63]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    packaged = tmp_path / "packaged.yaml"
    command = [str(SAM), "package", "--template-file", "template.yaml", "--s3-bucket", bucket]
    command += ["--output-template-file", str(packaged), "--region", "us-east-1"]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}  # AWS_ENDPOINT_URL: moto's server
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    application = load_template(packaged)["Metadata"]["AWS::ServerlessRepo::Application"]
    s3 = boto3.client("s3", region_name="us-east-1")
    for field, source in (("LicenseUrl", "LICENSE"), ("ReadmeUrl", "README.md")):
        match = re.fullmatch(rf"s3://{bucket}/(\w+)", application[field])
        assert match, application[field]
        uploaded = s3.get_object(Bucket=bucket, Key=match.group(1))["Body"].read()
        assert uploaded == (ROOT / source).read_bytes()
    assert (
        application["SemanticVersion"]
        == load_template()["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"]
    )

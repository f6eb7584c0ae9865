"""The layer ships the versions the tests ran with."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            result[name.strip().lower().replace("_", "-")] = version.strip()
    return result


def test_every_runtime_pin_is_the_version_the_tests_ran_with():
    layer, tested = pins(ROOT / "layers/shared/requirements.txt"), pins(ROOT / "constraints.txt")
    assert layer, "the layer pins nothing"
    assert {name: version for name, version in layer.items() if tested.get(name) != version} == {}

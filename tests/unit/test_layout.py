import pkgutil
from pathlib import Path

import auth0_webhooks

PACKAGE = Path(auth0_webhooks.__file__).parent
MAX_LINES = 300


def test_the_package_docstring_names_every_module():
    names = [module.name for module in pkgutil.iter_modules([str(PACKAGE)])]

    assert names, "no modules found"
    assert [name for name in names if f"``{name}``" not in (auth0_webhooks.__doc__ or "")] == []


def test_no_module_passes_300_lines_without_a_reason_at_its_top():
    long = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if len(path.read_text().splitlines()) > MAX_LINES and "over 300 lines" not in path.read_text()[:2000].lower()
    ]

    assert long == []

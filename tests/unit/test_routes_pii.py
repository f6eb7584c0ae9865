"""PII: hashed, masked and dropped values never survive anywhere in the output; the input is untouched."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from auth0_webhooks.routes import Pii
from auth0_webhooks.routes.pii import HASH_PREFIX, LOG_STREAMS_FIELDS, MASK, PiiTransform

EMAIL, PHONE, IP, USER_ID, NAME = "jane.doe@example.com", "+15550100", "203.0.113.7", "auth0|65f0c1", "Jane Doe"
LOG: dict[str, Any] = {
    "log_id": "90020240101000000000000000000000000000001",
    "date": "2024-01-01T00:00:00.000Z",
    "type": "s",
    "ip": IP,
    "user_id": USER_ID,
    "user_name": EMAIL,
    "client_id": "app-a",
    "details": {
        "request": {"ip": IP, "body": {"email": EMAIL, "password": "hunter2"}},
        "user": {"name": NAME, "given_name": "Jane", "family_name": "Doe", "phone_number": PHONE},
        "prompts": [{"name": "login", "user_id": USER_ID}],
    },
}
ORIGINALS = [EMAIL, PHONE, IP, USER_ID, NAME, "Jane", "Doe", "hunter2"]
EVERY_FIELD = ("ip", "user_id", "user_name", "email", "phone_number", "name", "given_name", "family_name")


def leaks(out: Any) -> list[str]:
    text = json.dumps(out)
    return [value for value in ORIGINALS if value in text]


def test_no_original_value_survives_anywhere_in_the_output():
    scrub = PiiTransform(Pii(hash=EVERY_FIELD, drop=("details.request.body",)), key=b"route-key")
    out = scrub(LOG)
    assert leaks(out) == []
    assert out["details"]["prompts"][0]["user_id"].startswith(HASH_PREFIX)
    assert out["details"]["prompts"][0]["name"].startswith(HASH_PREFIX)
    assert "body" not in out["details"]["request"]
    assert (out["log_id"], out["type"], out["date"], out["client_id"]) == (LOG["log_id"], "s", LOG["date"], "app-a")


def test_the_input_is_never_modified():
    before = copy.deepcopy(LOG)
    PiiTransform(Pii(hash=("email", "ip"), mask=("user_id",), drop=("details",)), key=b"k")(LOG)
    assert before == LOG


def test_the_same_value_hashes_the_same_for_a_route_and_differently_under_another_key():
    first = PiiTransform(Pii(hash=("ip",)), key=b"key-one")
    again = PiiTransform(Pii(hash=("ip",)), key=b"key-one")
    other = PiiTransform(Pii(hash=("ip",)), key=b"key-two")
    one = first(LOG)
    assert one["ip"] == one["details"]["request"]["ip"] == again(LOG)["ip"]
    assert one["ip"] != other(LOG)["ip"]
    assert one["ip"].startswith(HASH_PREFIX) and len(one["ip"]) == len(HASH_PREFIX) + 64


def test_mask_and_drop_at_dotted_paths_and_wildcards():
    scrub = PiiTransform(
        Pii(mask=("details.user.*", "details.request.ip"), drop=("details.request.body.password",)), key=None
    )
    out = scrub(LOG)
    assert out["details"]["user"] == {key: MASK for key in LOG["details"]["user"]}
    assert out["details"]["request"]["ip"] == MASK and out["ip"] == IP  # a dotted path is exact
    assert out["details"]["request"]["body"] == {"email": EMAIL}


def test_hashing_a_structure_hashes_its_canonical_json():
    out = PiiTransform(Pii(hash=("details.request",)), key=b"k")(LOG)
    assert out["details"]["request"].startswith(HASH_PREFIX)
    assert leaks(out["details"]["request"]) == []


def test_log_streams_pii_fields_are_covered_by_plain_paths():
    paths = tuple(sorted({path for group in LOG_STREAMS_FIELDS.values() for path in group}))
    out = PiiTransform(Pii(mask=paths), key=None)(LOG)
    assert out["user_name"] == out["details"]["user"]["name"] == out["details"]["user"]["given_name"] == MASK
    assert out["details"]["user"]["phone_number"] == out["details"]["request"]["body"]["email"] == MASK


@pytest.mark.parametrize(
    ("pii", "key", "message"),
    [
        (Pii(hash=("email",)), None, "hashing needs a key (pii.hash_key_secret)"),
        (Pii(mask=("log_id",)), None, "log_id is read by the pipeline itself"),
        (Pii(drop=("details..x",)), None, "details..x is not a field name or a dotted path"),
    ],
)
def test_rules_that_cannot_be_applied_are_refused(pii: Pii, key: bytes | None, message: str):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        PiiTransform(pii, key=key)

"""AML parsing of every published sample: each expected field, warnings against validity,
a position only when usable, every transport, and what v2, data SMS and HTTPS samples map to.

Pure functions only: no database, no fixtures from a conftest.
Samples: tests/data/aml_samples.json (loaded by tests/aml_support.py).
"""

import json
from datetime import UTC, datetime

import pytest

from geo.aml import parse_aml
from geo.aml_fix import AmlFix
from tests.aml_support import BY_ID, SAMPLES, _gsm7_pack, _has_warning

# `expected` keys that are inputs to the parser, not results.
INPUT_KEYS = {"hmac_key_ascii"}
# Where Siaga112 deliberately returns something else than the sample's `expected` block.
CONTESTED = {
    # The sample echoes the raw string "99.9". The field is a typed integer percentage: an invalid
    # value becomes None plus a warning that quotes it, like every other invalid field.
    ("gg-bad-lc", "level_of_confidence_pct"): None,
}


def _parse_sample(sample: dict) -> AmlFix:
    key = sample["expected"].get("hmac_key_ascii")
    return parse_aml(sample["raw"], hmac_key=key.encode("ascii") if key else None)


def _assert_field(key: str, got: object, want: object) -> None:
    if key.endswith("_utc") and want is not None:
        assert isinstance(got, datetime), key
        assert got.utcoffset() is not None and got.utcoffset().total_seconds() == 0, key
        assert got == datetime.fromisoformat(str(want)), key
    elif isinstance(want, bool) or want is None:
        assert got is want, key
    elif isinstance(want, float):
        assert isinstance(got, float), key
        assert got == pytest.approx(want, abs=1e-9), key
    else:
        assert type(got) is type(want), key
        assert got == want, key


# --- the published samples ----------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_sample_matches_every_expected_field(sample: dict) -> None:
    fix = _parse_sample(sample)
    assert fix.transport == sample["transport"]
    compared = 0
    for key, want in sample["expected"].items():
        if key in INPUT_KEYS:
            continue
        want = CONTESTED.get((sample["id"], key), want)
        _assert_field(key, getattr(fix, key), want)
        compared += 1
    assert compared >= 5


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_sample_warnings_follow_validity(sample: dict) -> None:
    """valid: true -> no warning; false -> at least one.

    valid: null (contested) is Google's own example with a wrong ml: we flag it (a warning)
    but keep the position, because losing a caller's location is worse than a bad length.
    """
    fix = _parse_sample(sample)
    assert all(isinstance(w, str) and w.endswith(".") for w in fix.warnings)
    if sample["valid"] is True:
        assert fix.warnings == ()
    elif sample["valid"] is False:
        assert len(fix.warnings) >= 1
    else:
        assert fix.length_matches is False
        assert fix.has_position is True
        assert _has_warning(fix, "ml=126")


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_sample_has_position_only_when_usable(sample: dict) -> None:
    fix = _parse_sample(sample)
    usable = (
        fix.lat is not None
        and fix.lon is not None
        and fix.positioning_method != "N"
        and (fix.lat, fix.lon) != (0.0, 0.0)
    )
    assert fix.has_position is usable
    if fix.positioning_method == "N":
        assert fix.has_position is False


def test_samples_cover_every_transport() -> None:
    transports = {parse_aml(s["raw"]).transport for s in SAMPLES}
    assert transports == {
        "sms-text-v1", "sms-text-v2", "sms-data-gsm7-hex", "sms-data-gsm7-base64",
        "https-form-urlencoded-v1",
    }  # fmt: skip


def test_data_sms_decodes_to_the_published_text() -> None:
    sample = BY_ID["amllib-data-sms-hex"]
    assert _gsm7_pack(sample["decoded"]).hex().upper() == sample["raw"]
    from_data = parse_aml(sample["raw"])
    from_text = parse_aml(sample["decoded"])
    assert from_data.to_dict() | {"transport": ""} == from_text.to_dict() | {"transport": ""}


def test_v2_keys_are_not_read_as_v1() -> None:
    fix = parse_aml(BY_ID["amllib-v2-text"]["raw"])
    assert fix.lat == -37.42175  # from lo=, not lt=-9999
    assert fix.languages == "en-US"  # lg= is languages in v2
    assert fix.emergency_number == "+15555555555"
    assert fix.caller_number is None  # en is the number dialled, not the caller's
    assert fix.call_start_epoch_s == 1593187189
    assert fix.time_of_positioning_utc == datetime.fromtimestamp(1593187189 - 9999, UTC)
    assert fix.altitude_m == pytest.approx(-100.1)
    assert fix.vertical_accuracy_m == pytest.approx(100.1)


def test_https_sample_maps_caller_number_and_ms_time() -> None:
    fix = parse_aml(BY_ID["amllib-https-form"]["raw"])
    assert fix.caller_number == "+447477593102"
    assert fix.level_of_confidence_pct == 83
    assert fix.hmac_ok is None  # no key given: not checked
    assert fix.to_dict()["location_time_utc"] == "2016-10-11T12:37:24.435Z"
    json.dumps(fix.to_dict())

"""AML parsing of any input: garbage, empty, bytes, undecodable, oversized and non-text input,
and property tests (never raises, invariants hold, well-formed v1 round-trips in every encoding).

Pure functions only: no database, no fixtures from a conftest.
"""

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geo.aml import parse_aml
from geo.aml_fix import AmlFix
from tests.aml_support import BY_ID, _gsm7_pack, _has_warning, _v1


@pytest.mark.parametrize("garbage", ["hello world", 'A"ML', "12345", "ZZZ=1&y=2", 'A"ML=1;'])
def test_garbage(garbage: str) -> None:
    fix = parse_aml(garbage)
    assert fix.has_position is False
    assert len(fix.warnings) >= 1


def test_garbage_is_unrecognised() -> None:
    fix = parse_aml("hello world")
    assert fix.transport == "unknown"
    assert fix.warnings[0].startswith("Unrecognised message")


@pytest.mark.parametrize("empty", ["", "   \n", b"", b"\n"])
def test_empty_input(empty: str | bytes) -> None:
    fix = parse_aml(empty)
    assert fix.transport == "unknown" and fix.has_position is False
    assert fix.warnings == ("Empty message: nothing to parse.",)


def test_bytes_input_text_and_raw_data_sms() -> None:
    text = BY_ID["gg-valid-wifi"]["raw"]
    assert parse_aml(text.encode()) == parse_aml(text)
    raw_user_data = bytes.fromhex(BY_ID["amllib-data-sms-hex"]["raw"])
    fix = parse_aml(raw_user_data)
    assert fix.transport == "sms-data-gsm7-binary"
    assert (fix.lat, fix.lon, fix.length_matches) == (37.42175, -122.08461, True)


def test_undecodable_bytes() -> None:
    fix = parse_aml(b"\xff\xfe\x00garbage")
    assert fix.transport == "unknown" and fix.has_position is False


def test_oversized_input_is_not_parsed() -> None:
    fix = parse_aml(_v1() + ";" * 20_000)
    assert fix.has_position is False and _has_warning(fix, "limit")


def test_non_text_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_aml(42)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------


def _check_invariants(fix: AmlFix) -> None:
    assert isinstance(fix, AmlFix)
    assert all(isinstance(w, str) and w for w in fix.warnings)
    if fix.has_position:
        assert fix.lat is not None and -90 <= fix.lat <= 90
        assert fix.lon is not None and -180 <= fix.lon <= 180
        assert (fix.lat, fix.lon) != (0.0, 0.0)
        assert fix.positioning_method != "N"
    if fix.transport == "unknown":
        assert fix.warnings and not fix.has_position


@settings(database=None, max_examples=300)
@given(
    st.one_of(
        st.text(),
        st.text().map(lambda s: 'A"ML=1;' + s),
        st.text().map(lambda s: 'A"ML=2;' + s),
        st.text().map(lambda s: "v=1&location_latitude=" + s),
        st.binary().map(bytes.hex),
        st.binary().map(lambda b: base64.b64encode(b).decode()),
    )
)
def test_never_raises_on_text(raw: str) -> None:
    _check_invariants(parse_aml(raw, hmac_key=b"k"))


@settings(database=None, max_examples=300)
@given(st.one_of(st.binary(), st.text().map(lambda s: _gsm7_pack('A"ML=1;' + s))))
def test_never_raises_on_bytes(raw: bytes) -> None:
    _check_invariants(parse_aml(raw))


@settings(database=None, max_examples=300)
@given(
    lat_e5=st.integers(-9_000_000, 9_000_000),
    lon_e5=st.integers(-18_000_000, 18_000_000),
    radius_e1=st.integers(0, 1_000_000),
    when=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)),
    method=st.sampled_from("GWC"),
    confidence=st.integers(0, 100),
    encoding=st.sampled_from(["text", "bytes", "hex", "base64", "gsm7"]),
)
def test_round_trip_of_well_formed_v1(
    lat_e5: int,
    lon_e5: int,
    radius_e1: int,
    when: datetime,
    method: str,
    confidence: int,
    encoding: str,
) -> None:
    assume((lat_e5, lon_e5) != (0, 0))
    lat, lon, radius = lat_e5 / 100_000, lon_e5 / 100_000, radius_e1 / 10
    when = when.replace(microsecond=0)
    message = _v1(
        lt=f"{lat:+.5f}",
        lg=f"{lon:+.5f}",
        rd=f"{radius:.1f}",
        top=when.strftime("%Y%m%d%H%M%S"),
        pm=method,
        lc=str(confidence),
    )
    raw: str | bytes = {
        "text": message,
        "bytes": message.encode(),
        "hex": _gsm7_pack(message).hex(),
        "base64": base64.b64encode(_gsm7_pack(message)).decode(),
        "gsm7": _gsm7_pack(message),
    }[encoding]
    fix = parse_aml(raw)
    assert fix.warnings == ()
    assert (fix.lat, fix.lon, fix.radius_m) == (lat, lon, radius)
    assert fix.time_of_positioning_utc == when.replace(tzinfo=UTC)
    assert (fix.positioning_method, fix.level_of_confidence_pct) == (method, confidence)
    assert fix.length_matches is True and fix.has_position is True

"""AML parsing: every published sample, one test per field error, and property tests.

Pure functions only: no database, no fixtures from a conftest.
Samples: tests/data/aml_samples.json (copied from shared/specs/aml; licences beside it).
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geo.aml import parse_aml
from geo.aml_fix import AmlFix

SAMPLES = json.loads((Path(__file__).parent / "data" / "aml_samples.json").read_text("utf-8"))[
    "samples"
]
BY_ID = {sample["id"]: sample for sample in SAMPLES}

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


def _v1(ml: int | None = None, **overrides: str | None) -> str:
    """A well-formed v1 SMS located in Jakarta; overrides replace fields (None drops one)."""
    fields = {
        "lt": "-6.20880", "lg": "+106.84560", "rd": "25", "top": "20261123083000", "lc": "68",
        "pm": "G", "si": "510100000000000", "ei": "356938035643809", "mcc": "510", "mnc": "10",
    }  # fmt: skip
    fields.update(overrides)
    body = 'A"ML=1;' + ";".join(f"{k}={v}" for k, v in fields.items() if v is not None) + ";ml="
    if ml is None:  # the length includes the digits of ml itself
        ml = len(body) + 2
        while len(body + str(ml)) != ml:
            ml = len(body + str(ml))
    return body + str(ml)


def _https(key: bytes | None = None, **overrides: str) -> str:
    fields = {
        "v": "1", "device_number": "%2B6281234567890", "location_latitude": "-6.20880",
        "location_longitude": "106.84560", "location_time": "1795422600000",
        "location_accuracy": "12.5", "location_source": "gps", "location_certainty": "68",
    }  # fmt: skip
    fields.update(overrides)
    body = "&".join(f"{k}={v}" for k, v in fields.items())
    if key is None:
        return body
    return body + "&hmac=" + hmac.new(key, body.encode(), hashlib.sha1).hexdigest()


def _gsm7_pack(text: str) -> bytes:
    """Test-side packer for AML's alphabet (ASCII letters, digits, `";=.,+-` map 1:1)."""
    return _gsm7_pack_septets([ord(char) for char in text])


def _gsm7_pack_septets(septets: list[int]) -> bytes:
    bits = n_bits = 0
    out = bytearray()
    for septet in septets:
        bits |= septet << n_bits
        n_bits += 7
        while n_bits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            n_bits -= 8
    if n_bits:
        out.append((bits | (0x0D << 1 if n_bits == 1 else 0)) & 0xFF)  # CR fill, TS 23.038
    return bytes(out)


def _has_warning(fix: AmlFix, fragment: str) -> bool:
    return any(fragment.lower() in warning.lower() for warning in fix.warnings)


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


# --- one test per field error -------------------------------------------------------------------


def test_well_formed_jakarta_message_parses_cleanly() -> None:
    fix = parse_aml(_v1())
    assert fix.warnings == ()
    assert fix.has_position is True
    assert (fix.lat, fix.lon, fix.radius_m) == (-6.2088, 106.8456, 25.0)
    assert fix.time_of_positioning_utc == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert (fix.mcc, fix.mnc, fix.level_of_confidence_pct) == ("510", "10", 68)
    assert fix.length_matches is True and fix.caller_number is None


def test_bad_latitude_out_of_range() -> None:
    fix = parse_aml(_v1(lt="+91.00000"))
    assert fix.lat is None and fix.lon == 106.8456
    assert fix.has_position is False
    assert _has_warning(fix, "Latitude +91.00000 is outside -90..90")


def test_bad_longitude_out_of_range() -> None:
    fix = parse_aml(_v1(lg="-180.50000"))
    assert fix.lon is None and fix.lat == -6.2088
    assert fix.has_position is False
    assert _has_warning(fix, "Longitude -180.50000 is outside -180..180")


def test_swapped_latitude_and_longitude_is_flagged_not_fixed() -> None:
    fix = parse_aml(_v1(lt="+106.84560", lg="-6.20880"))
    assert _has_warning(fix, "look swapped")
    assert fix.lat is None  # 106.8 is not a latitude; we do not guess
    assert fix.lon == -6.2088
    assert fix.has_position is False


def test_in_range_swap_outside_indonesia_is_not_flagged() -> None:
    fix = parse_aml(_v1(lt="+3.00000", lg="+5.00000"))  # Gulf of Guinea: odd, but legal
    assert fix.warnings == () and fix.has_position is True


@pytest.mark.parametrize("radius", ["abc", "-5", "nan", "1e3"])
def test_bad_radius_drops_radius_but_keeps_position(radius: str) -> None:
    fix = parse_aml(_v1(rd=radius))
    assert fix.radius_m is None
    assert fix.has_position is True
    assert _has_warning(fix, "Radius")


def test_bad_time_of_positioning() -> None:
    fix = parse_aml(_v1(top="20261301083000"))  # month 13
    assert fix.time_of_positioning_utc is None
    assert _has_warning(fix, "Time of positioning '20261301083000'")
    assert fix.has_position is True


@pytest.mark.parametrize("confidence", ["101", "-1", "68.5", "high"])
def test_bad_confidence(confidence: str) -> None:
    fix = parse_aml(_v1(lc=confidence))
    assert fix.level_of_confidence_pct is None
    assert _has_warning(fix, f"Level of confidence {confidence!r}")


def test_bad_positioning_method_is_kept_and_flagged() -> None:
    fix = parse_aml(_v1(pm="X"))
    assert fix.positioning_method == "X"
    assert _has_warning(fix, "Unknown positioning method 'X'")
    assert fix.has_position is True


def test_wrong_ml_keeps_position_and_flags_it() -> None:
    message = _v1(ml=999)
    fix = parse_aml(message)
    assert (fix.declared_length_ml, fix.actual_length) == (999, len(message))
    assert fix.length_matches is False
    assert fix.has_position is True and fix.lat == -6.2088
    assert _has_warning(fix, "ml=999 does not match")


def test_non_numeric_ml() -> None:
    fix = parse_aml(_v1(ml=None).rsplit("=", 1)[0] + "=abc")
    assert fix.declared_length_ml is None and fix.length_matches is None
    assert _has_warning(fix, "ml 'abc' is not a whole number")


@pytest.mark.parametrize("version", ["3", "x", "", "01"])
def test_wrong_version_header_interprets_nothing(version: str) -> None:
    fix = parse_aml(_v1().replace('A"ML=1', f'A"ML={version}', 1))
    assert fix.version == version
    assert fix.transport == "sms-text"
    assert fix.lat is None and fix.lon is None and fix.has_position is False
    assert fix.warnings == (
        f"Unsupported AML version {version!r}: fields were not interpreted because their "
        "meaning depends on the version.",
    )


@pytest.mark.parametrize("no_location", [{"pm": "N"}, {"rd": "N"}])
def test_no_location_with_coordinates_is_not_a_position(no_location: dict[str, str]) -> None:
    fix = parse_aml(_v1(**no_location))
    assert fix.has_position is False
    assert _has_warning(fix, "no location")


def test_zero_zero_with_a_real_method_is_not_a_position() -> None:
    fix = parse_aml(_v1(lt="+00.00000", lg="+000.00000"))
    assert (fix.lat, fix.lon) == (0.0, 0.0)
    assert fix.has_position is False
    assert _has_warning(fix, "0,0 is a placeholder")


def test_duplicate_and_empty_fields_are_flagged() -> None:
    fix = parse_aml(_v1(ei=None, mnc="10;lt=+50.00000;ei="))
    assert fix.lat == -6.2088  # first value wins
    assert fix.imei is None
    assert _has_warning(fix, "Key 'lt' appears more than once")
    assert _has_warning(fix, "Field 'ei' is empty")
    assert fix.length_matches is True


def test_right_hmac() -> None:
    fix = parse_aml(_https(key=b"siaga112"), hmac_key=b"siaga112")
    assert fix.hmac_ok is True
    assert fix.warnings == ()
    assert fix.caller_number == "+6281234567890"
    assert fix.time_of_positioning_utc == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def test_wrong_hmac_flags_but_keeps_position() -> None:
    fix = parse_aml(_https(key=b"siaga112"), hmac_key=b"another-key")
    assert fix.hmac_ok is False
    assert fix.has_position is True
    assert _has_warning(fix, "HMAC does not match")


def test_tampered_body_fails_hmac() -> None:
    signed = _https(key=b"siaga112")
    fix = parse_aml(signed.replace("-6.20880", "-6.30880"), hmac_key=b"siaga112")
    assert fix.hmac_ok is False and fix.lat == -6.3088


def test_hmac_must_be_the_last_field() -> None:
    fix = parse_aml(_https(key=b"k") + "&location_latitude=1.0", hmac_key=b"k")
    assert fix.hmac_ok is False
    assert _has_warning(fix, "not covered")


def test_missing_hmac_with_a_key_fails_and_without_a_key_is_unchecked() -> None:
    assert parse_aml(_https(), hmac_key=b"k").hmac_ok is False
    assert parse_aml(_https(key=b"k")).hmac_ok is None
    assert parse_aml(_v1(), hmac_key=b"k").hmac_ok is None  # SMS carries no HMAC


def test_https_duplicate_key_after_an_empty_value_is_flagged() -> None:
    fix = parse_aml(_https() + "&cell_carrier=&cell_carrier=Telkomsel&v=1")
    assert fix.has_position is True
    assert _has_warning(fix, "Key 'cell_carrier' appears more than once")
    assert _has_warning(fix, "Key 'v' appears more than once")


def test_https_bad_location_time_and_source() -> None:
    fix = parse_aml(_https(location_time="yesterday", location_source="magic"))
    assert fix.time_of_positioning_utc is None
    assert _has_warning(fix, "Location time (Unix ms) 'yesterday'")
    assert _has_warning(fix, "Unknown location source 'magic'")


def test_v2_zero_accuracy_means_unknown_and_bad_network_code() -> None:
    fix = parse_aml('A"ML=2;lo=-6.20880,106.84560,0;nc=51;ls=G')
    assert fix.radius_m is None and fix.has_position is True
    assert fix.mcc is None and _has_warning(fix, "Network code nc '51'")


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


@pytest.mark.parametrize("fill", [0x0D, 0x00])
def test_data_sms_fill_septet_is_dropped(fill: int) -> None:
    # A length of 8k+7 septets packs into a multiple of 7 octets ending in 7 fill bits.
    message = next(m for n in range(6, 14) if len(m := _v1(si="5" * n)) % 8 == 7)
    packed = bytearray(_gsm7_pack(message))
    packed[-1] = (packed[-1] & 0x01) | (fill << 1)
    fix = parse_aml(bytes(packed).hex())
    assert fix.actual_length == len(message) and fix.length_matches is True


def test_data_sms_uses_the_gsm_alphabet_and_its_escape_table() -> None:
    message = _v1(si="{1}", ei="@2")  # '{' is ESC 0x28 and '@' is 0x00 in GSM 03.38
    gsm = {"{": [0x1B, 0x28], "}": [0x1B, 0x29], "@": [0x00]}
    septets = [code for char in message for code in gsm.get(char, [ord(char)])]
    fix = parse_aml(base64.b64encode(_gsm7_pack_septets(septets)).decode())
    assert fix.transport == "sms-data-gsm7-base64"
    assert (fix.imsi, fix.imei) == ("{1}", "@2")
    assert fix.length_matches is True  # ml counts characters, not septets
    assert _has_warning(fix, "IMSI '{1}' is not all digits")


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

"""Advanced Mobile Location (AML): parse what a handset sends after an emergency call.

Transports: ETSI TS 103 625 text SMS (`A"ML=1;...`), the Android ELS "beta" SMS (`A"ML=2;...`,
whose keys mean other things), binary data SMS (GSM 03.38 7-bit packed, as hex or base64 text, or
as raw bytes) and the HTTPS form POST (optionally signed with a hex HMAC-SHA1).

`parse_aml` never raises on bad input: a caller's position must not be lost because one field is
wrong, so every problem becomes an English sentence in `AmlFix.warnings` and only the broken field
is dropped. A position is offered (`has_position`) only when it is usable: never for "no location"
messages (pm=N / rd=N), missing or out-of-range coordinates, or the 0,0 placeholder.

This module recognises the transport and hands over: SMS text in geo.aml_sms, the HTTPS form in
geo.aml_https, GSM 7-bit unpacking in geo.gsm7, field validators in geo.aml_fields, and the
result value in geo.aml_fix.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl

from geo.aml_fix import AmlFix
from geo.aml_https import HTTPS_KEYS, parse_https
from geo.aml_sms import SMS_HEADER, parse_sms
from geo.gsm7 import gsm7_decode

__all__ = ["parse_aml"]

MAX_INPUT_CHARS = 16_384
"""Longer input is not an AML message (an SMS is < 1 KiB, an HTTPS form a few KiB)."""

_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_UNRECOGNISED = (
    'Unrecognised message: not an AML SMS (A"ML=...), a GSM 7-bit data SMS (hex or base64) '
    "or an HTTPS AML form."
)


def parse_aml(raw: str | bytes, *, hmac_key: bytes | None = None) -> AmlFix:
    """Detect the transport of `raw` and parse it; problems become warnings, never exceptions.

    `hmac_key` is the shared secret for HTTPS messages; without it `hmac_ok` stays None.
    Surrounding whitespace (a gateway's trailing newline) is not part of the message or its ml.
    """
    if isinstance(raw, bytes | bytearray):
        return _parse_bytes(bytes(raw), hmac_key)
    if not isinstance(raw, str):
        raise TypeError(f"parse_aml expects str or bytes, not {type(raw).__name__}")
    text = raw.strip()
    if problem := _size_problem(text):
        return _unparsed(problem)
    return _parse_text(text, hmac_key) or _unparsed(_UNRECOGNISED)


def _size_problem(text: str) -> str | None:
    if not text:
        return "Empty message: nothing to parse."
    if len(text) > MAX_INPUT_CHARS:
        return f"Message is {len(text)} characters long (limit {MAX_INPUT_CHARS}); not parsed."
    return None


def _unparsed(warning: str) -> AmlFix:
    return AmlFix(transport="unknown", warnings=(warning,))


def _parse_bytes(data: bytes, hmac_key: bytes | None) -> AmlFix:
    """Bytes are UTF-8 text of any transport, or else the packed user data of a data SMS."""
    try:
        text: str | None = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if problem := _size_problem(text):
            return _unparsed(problem)
        if fix := _parse_text(text, hmac_key):
            return fix
    if len(data) <= MAX_INPUT_CHARS and (decoded := gsm7_decode(data)).startswith(SMS_HEADER):
        return parse_sms(decoded, data_transport="sms-data-gsm7-binary")
    return _unparsed(_UNRECOGNISED)


def _parse_text(text: str, hmac_key: bytes | None) -> AmlFix | None:
    """Branch on the header first; None when no transport matches."""
    if text.startswith(SMS_HEADER):
        return parse_sms(text)
    if _HEX_RE.fullmatch(text):
        decoded = gsm7_decode(bytes.fromhex(text))
        if decoded.startswith(SMS_HEADER):
            return parse_sms(decoded, data_transport="sms-data-gsm7-hex")
    if len(text) % 4 == 0 and _BASE64_RE.fullmatch(text):
        try:
            decoded = gsm7_decode(base64.b64decode(text, validate=True))
        except binascii.Error:
            decoded = ""
        if decoded.startswith(SMS_HEADER):
            return parse_sms(decoded, data_transport="sms-data-gsm7-base64")
    pairs = parse_qsl(text, keep_blank_values=True)
    if any(key in HTTPS_KEYS for key, _ in pairs):
        return parse_https(text, pairs, hmac_key)
    return None

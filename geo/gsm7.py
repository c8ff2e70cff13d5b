"""GSM 03.38 7-bit text: unpacking the user data of a binary (data) SMS into a string.

Hand-written: the PyPI codec (gsm0338) maps characters but does not unpack septets, and the
packages that do (smspdu, pdusms) are unmaintained SMS-PDU toolkits; this is ~25 lines.
"""

from __future__ import annotations

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
    0x40: "|", 0x65: "€",
}  # fmt: skip
_GSM7_ESCAPE = 0x1B


def _gsm7_septets(data: bytes) -> list[int]:
    """Unpack 7-bit septets, least significant bit first (3GPP TS 23.038 §6.1.2.1.1)."""
    septets: list[int] = []
    carry = carry_bits = 0
    for byte in data:
        septets.append(((byte << carry_bits) | carry) & 0x7F)
        carry = byte >> (7 - carry_bits)
        carry_bits += 1
        if carry_bits == 7:  # seven octets hold eight septets
            septets.append(carry)
            carry = carry_bits = 0
    # With a multiple of 7 octets the last septet may be fill bits (CR per the spec, or zeros).
    # A real '@'/CR cannot end an AML message, so dropping it is safe here.
    if data and len(data) % 7 == 0 and septets[-1] in (0x00, 0x0D):
        septets.pop()
    return septets


def gsm7_decode(data: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for septet in _gsm7_septets(data):
        if escaped:
            chars.append(_GSM7_EXTENSION.get(septet, _GSM7_BASIC[septet]))
            escaped = False
        elif septet == _GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(_GSM7_BASIC[septet])
    return "".join(chars)

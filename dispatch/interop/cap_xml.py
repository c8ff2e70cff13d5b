"""CAP 1.2 as XML: parsing untrusted documents safely and validating against the OASIS
schema (copied into `schemas/` with its notice and licence: see `schemas/README.md`).

Parsing never expands an entity, never reads a DTD or anything from the network, and
refuses a document that declares a DTD at all: a CAP message has no use for one, and a
DTD is where the billion-laughs and external-entity attacks live. The size limit is the
request body limit (64 KiB) before any of this runs; `MAX_CAP_BYTES` holds it for other
callers (the CLI)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from lxml import etree

from dispatch.core.errors import Invalid

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMAS = Path(__file__).parent / "schemas"
MAX_CAP_BYTES = 65536


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True)


def parse_untrusted(data: bytes) -> etree._Element:
    """The root element of an untrusted XML document, or Invalid (never anything else)."""
    if len(data) > MAX_CAP_BYTES:
        raise Invalid(f"the document is larger than {MAX_CAP_BYTES} bytes", field="body")
    if not data.strip():
        raise Invalid("the body is empty: a CAP 1.2 XML document is expected", field="body")
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser=_parser()))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Invalid(f"not well-formed XML: {_short(str(exc))}", field="body") from None
    docinfo = tree.docinfo
    declared = (getattr(docinfo, "doctype", ""), getattr(docinfo, "internalDTD", None),
                getattr(docinfo, "externalDTD", None))
    if any(declared):
        raise Invalid("a DOCTYPE (DTD, entity declarations) is not accepted in CAP",
                      field="body")
    root = tree.getroot()
    for element in root.iter():
        if isinstance(element, etree._Entity):
            raise Invalid("entity references are not accepted in CAP", field="body")
    return root


@functools.cache
def cap_schema(extended: bool) -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema, or Google's stricter variant (patterns on identifier,
    sender, references, circle): the plain one lets an empty <references/> through."""
    name = "CAP-v1.2-extended.xsd" if extended else "CAP-v1.2.xsd"
    document = etree.parse(str(SCHEMAS / name), parser=_parser())
    return etree.XMLSchema(document)


def schema_errors(root: etree._Element, *, extended: bool) -> list[str]:
    """What the CAP schema finds wrong with a document (empty: valid)."""
    schema = cap_schema(extended)
    if schema.validate(root):
        return []
    entries = cast(Iterable[etree._LogEntry], schema.error_log)
    return [f"line {e.line}: {_short(e.message)}" for e in entries][:5]


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."

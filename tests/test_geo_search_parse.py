"""Place search query normalisation (geo.search.parse_query): prefixes, RT/RW and house
numbers, splitting without commas, empty queries, the length cut. No database."""

from __future__ import annotations

import pytest

from geo.search import parse_query

# --- normalisation (no database) ------------------------------------------------------------


def test_parse_query_drops_prefixes_rt_rw_and_house_numbers() -> None:
    parsed = parse_query("Jl. Gajah Mada No. 5 RT 01/RW 02, Kel. Jagalan, Kec. Kranggan")
    assert [(p.words, p.hint) for p in parsed.parts] == [
        ("gajah mada", "street"),
        ("jagalan", "kelurahan"),
        ("kranggan", "kecamatan"),
    ]
    assert parsed.parts[0].spellings == ("gajah mada", "jl gajah mada", "jalan gajah mada")
    assert parsed.whole == "jl gajah mada kel jagalan kec kranggan"


def test_parse_query_splits_before_a_prefix_word_without_commas() -> None:
    parsed = parse_query("Gg. Melati RT/RW 001/002 Desa Sooko Kab. Mojokerto")
    assert [(p.words, p.hint) for p in parsed.parts] == [
        ("melati", "street"),
        ("sooko", "kelurahan"),
        ("mojokerto", "kabupaten"),
    ]
    # a prefix word right after another one is part of the name ("Kelurahan Kota Baru")
    parsed = parse_query("Kel. Kota Baru")
    assert [(p.words, p.hint) for p in parsed.parts] == [("kota baru", "kelurahan")]
    assert parse_query("Mentikan").whole is None


@pytest.mark.parametrize(
    "query", ["", "   ", "Kel.", "Jl. , Kec.", "Jl. Gg.", "RT/RW 01/02", ",;,", "-"]
)
def test_parse_query_without_a_name_has_no_parts(query: str) -> None:
    assert parse_query(query).parts == ()


def test_parse_query_cuts_at_200_characters() -> None:
    assert parse_query("a" * 300).parts[0].words == "a" * 200
    assert "mentikan" not in parse_query("zq " * 67 + "Mentikan").parts[0].words

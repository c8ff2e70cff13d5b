"""The place search statement (search_place_candidates, migrations 0008 and 0010) reads both
tables through their trigram indexes, the indexes keep no pending list, and a search leaves
the planner settings as it found them."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo import search
from geo.search import parse_query, search_places
from tests.geo_search_support import MENTIKAN

# --- the statement uses the trigram indexes ----------------------------------------------


async def test_search_statement_uses_the_trigram_indexes(session: AsyncSession) -> None:
    """The function's own query, planned under the function's own settings (its SET
    clauses, read back from the catalogue), reads both tables through their GIN indexes."""
    body, config = (await session.execute(text(
        "SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'search_place_candidates'"
    ))).one()
    assert "enable_seqscan=off" in config
    for setting in config:
        name, value = setting.split("=", 1)
        await session.execute(text("SELECT set_config(:name, :value, true)"),
                              {"name": name, "value": value})
    query = body.split("RETURN QUERY", 1)[1].rsplit(";", 1)[0]
    await session.execute(text(
        "PREPARE place_search(text[], float8, int, float8) AS " + query.replace(":", "\\:")))
    terms, _ = search.search_terms(parse_query("Jl. Gajah Mada, Jagalan"))
    literal = await session.scalar(  # EXPLAIN EXECUTE takes no parameters
        text("SELECT quote_literal(CAST(:terms AS text[]))"), {"terms": terms})
    plan = "\n".join(row[0] for row in await session.execute(text(
        f"EXPLAIN EXECUTE place_search({literal}, 0.9, 50, 50.0)")))
    await session.execute(text("DEALLOCATE place_search"))
    assert "Bitmap Index Scan on ix_areas_name_trgm" in plan
    assert "Bitmap Index Scan on ix_gazetteer_name_trgm" in plan
    assert "Seq Scan on areas" not in plan and "Seq Scan on gazetteer" not in plan
    assert "ix_areas_geom" not in plan  # else every area's similarity is measured (0010)


async def test_trigram_indexes_keep_no_pending_list(session: AsyncSession) -> None:
    """A GIN pending list is read whole by every search until a vacuum or analyze merges
    it (migration 0010)."""
    options = dict((await session.execute(text(
        "SELECT relname, reloptions FROM pg_class"
        " WHERE relname IN ('ix_areas_name_trgm', 'ix_gazetteer_name_trgm')"))).all())
    assert options == {"ix_areas_name_trgm": ["fastupdate=off"],
                       "ix_gazetteer_name_trgm": ["fastupdate=off"]}


async def test_search_leaves_the_planner_settings_as_it_found_them(
    session: AsyncSession,
) -> None:
    await session.execute(text("SET LOCAL enable_seqscan = on"))
    for name in ("similarity_threshold", "strict_word_similarity_threshold"):
        await session.execute(text(f"SET LOCAL pg_trgm.{name} = 0.9"))
    hits = await search_places(session, "mentikn")  # similarity 0.55: found at 0.3 only
    assert hits and hits[0].code == MENTIKAN
    assert await session.scalar(text("SHOW enable_seqscan")) == "on"
    assert await session.scalar(text("SHOW pg_trgm.similarity_threshold")) == "0.9"

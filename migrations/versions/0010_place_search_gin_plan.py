"""place search: the trigram indexes without a pending list, and a plan that always reads
the areas through theirs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Two things made an address search cost 2.5–9 ms on the demo region's 346 areas:

- With the trigram index's entries merged (as any autovacuum or autoanalyze of `areas`
  does), the planner read `areas` through `ix_areas_geom` to test `geom IS NOT NULL`
  (enable_seqscan is off in the function) and measured trigram similarity on every row:
  8.8 ms per search. The trigram test now stands alone in a materialized CTE, so the GIN
  index answers it (0.5 ms), and areas without a geometry are left out after it.
- GIN's fast update: rows written to `areas` and `gazetteer` wait unsorted in the index's
  pending list until a vacuum or analyze merges them, and meanwhile every search reads the
  whole list (2.5 ms with the demo's 346 areas; the harness searched in that state right
  after loading the demo). These tables are written rarely (an import) and searched on
  every address intake: fast update is off, and the list is merged here.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_INDEXES = ("ix_areas_name_trgm", "ix_gazetteer_name_trgm")

# As in 0008, but for the area_hits CTE (materialized, no geometry test) and `h.placed`.
SEARCH_BODY = """
    WITH terms AS MATERIALIZED (
        SELECT t.term, t.idx::int AS idx
        FROM unnest($1) WITH ORDINALITY AS t(term, idx)
    ),
    area_hits AS MATERIALIZED (  -- the trigram test alone decides the plan: GIN
        SELECT a.code, a.name, a.geom IS NOT NULL AS placed FROM areas a
        WHERE a.name % ANY($1) OR a.name %>> ANY($1)
    ),
    gazetteer_hits AS (
        SELECT g.id, g.name FROM gazetteer g
        WHERE g.name % ANY($1) OR g.name %>> ANY($1)
    ),
    matches AS (
        SELECT h.code AS area_code, NULL::uuid AS gazetteer_id, t.idx,
               greatest(similarity(h.name, t.term),
                        $2 * strict_word_similarity(t.term, h.name)) AS raw
        FROM area_hits h CROSS JOIN terms t
        WHERE h.placed AND (h.name % t.term OR t.term <<% h.name)
        UNION ALL
        SELECT NULL, h.id, t.idx,
               greatest(similarity(h.name, t.term),
                        $2 * strict_word_similarity(t.term, h.name))
        FROM gazetteer_hits h CROSS JOIN terms t
        WHERE h.name % t.term OR t.term <<% h.name
    ),
    ranked AS (
        SELECT m.*, row_number() OVER (
                   PARTITION BY idx ORDER BY raw DESC, area_code, gazetteer_id) AS rank
        FROM matches m
    ),
    grouped AS (  -- every spelling keeps its best candidates, whatever the others match
        SELECT area_code, gazetteer_id, array_agg(idx ORDER BY idx) AS idxs,
               array_agg(raw ORDER BY idx) AS raws
        FROM ranked
        GROUP BY area_code, gazetteer_id
        HAVING min(rank) <= $3
    )
    SELECT a.code::text, a.name, a.level::text, a.code::text,
           array_remove(ARRAY[p1.code, p2.code, p3.code], NULL)::text[],
           ST_Y(a.label_point), ST_X(a.label_point), a.radius_m, g.idxs, g.raws::float8[]
    FROM grouped g
    JOIN areas a ON a.code = g.area_code
    LEFT JOIN areas p1 ON p1.code = a.parent_code
    LEFT JOIN areas p2 ON p2.code = p1.parent_code
    LEFT JOIN areas p3 ON p3.code = p2.parent_code
    UNION ALL
    SELECT z.id::text, z.name, z.kind::text, z.area_code::text,
           array_remove(ARRAY[k.code, p1.code, p2.code, p3.code], NULL)::text[],
           ST_Y(z.geom), ST_X(z.geom), $4, g.idxs, g.raws::float8[]
    FROM grouped g
    JOIN gazetteer z ON z.id = g.gazetteer_id
    LEFT JOIN areas k ON k.code = z.area_code
    LEFT JOIN areas p1 ON p1.code = k.parent_code
    LEFT JOIN areas p2 ON p2.code = p1.parent_code
    LEFT JOIN areas p3 ON p3.code = p2.parent_code
"""


def _function(body: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION search_place_candidates(
                   terms text[], word_weight float8, cap int, gazetteer_radius float8)
               RETURNS TABLE (code text, name text, level text, area_code text,
                              ancestors text[], lat float8, lon float8, radius_m float8,
                              idxs int[], raws float8[])
               LANGUAGE plpgsql STABLE
               SET enable_seqscan = off
               SET pg_trgm.similarity_threshold = 0.3
               SET pg_trgm.strict_word_similarity_threshold = 0.5
               AS $body$
               #variable_conflict use_column
               BEGIN RETURN QUERY {body}; END
               $body$"""


def upgrade() -> None:
    for index in TRIGRAM_INDEXES:
        op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    op.execute(_function(SEARCH_BODY))


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location(
        "place_search_0008", Path(__file__).with_name("0008_place_search_function.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(_function(previous.SEARCH_BODY))
    for index in TRIGRAM_INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (fastupdate)")

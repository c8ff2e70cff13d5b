"""place search in one statement: a SQL function carrying its planner and pg_trgm settings,
and each area's label point and radius stored instead of computed per search

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

The address search took three statements: set `enable_seqscan` off and the pg_trgm
thresholds for the transaction, search, restore `enable_seqscan`. pg_trgm's operator
functions are costed like `=` (COST 1), so with a few thousand gazetteer rows the planner
prefers a sequential scan evaluating the trigram operator on every row (~0.6 s for 50,000
names) over the GIN index (~0.05 s). A function's SET clauses apply while it runs and are
undone when it returns, and a function with SET clauses is never inlined, so its query is
planned with them: one statement, and the session's settings are left as they were.
PL/pgSQL rather than SQL: it keeps the query's plan for the session (a SQL function with
SET clauses plans its body at every call; pgbench, alternating: 4.9 against 4.0–4.6 ms).

The thresholds are fixed here, not by the server's configuration, so that a server setting
cannot change recall: `%` at similarity 0.3, `%>>`/`<<%` at strict word similarity 0.5.
geo/search.py scores the rows (see its module docstring).

An area's point on surface and the radius of a circle of its area were computed for every
candidate of every search: `ST_Area(geom::geography)` on the spheroid costs about 1.5 ms
for a kelurahan polygon, two thirds of a search's time. They are now stored generated
columns, computed when an area is written.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# $1 terms text[] (each spelling), $2 word weight, $3 candidates kept per spelling,
# $4 the radius given to a gazetteer point. Positional, so that the query can be prepared
# and EXPLAINed on its own (tests/test_geo_search_indexes.py takes it from the function's source).
SEARCH_BODY = """
    WITH terms AS MATERIALIZED (
        SELECT t.term, t.idx::int AS idx
        FROM unnest($1) WITH ORDINALITY AS t(term, idx)
    ),
    area_hits AS (
        SELECT a.code, a.name FROM areas a
        WHERE a.geom IS NOT NULL AND (a.name % ANY($1) OR a.name %>> ANY($1))
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
        WHERE h.name % t.term OR t.term <<% h.name
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


def function_sql(body: str) -> str:
    """The function around a search query (migration 0010 replaces the query)."""
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
    op.execute(
        """ALTER TABLE areas
             ADD COLUMN label_point geometry(Point, 4326)
               GENERATED ALWAYS AS (ST_PointOnSurface(geom)) STORED,
             ADD COLUMN radius_m double precision
               GENERATED ALWAYS AS (sqrt(ST_Area(geom::geography) / pi())) STORED"""
    )
    op.execute(function_sql(SEARCH_BODY))

def downgrade() -> None:
    op.execute("DROP FUNCTION search_place_candidates(text[], float8, int, float8)")
    op.execute("ALTER TABLE areas DROP COLUMN label_point, DROP COLUMN radius_m")

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
from types import ModuleType

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_INDEXES = ("ix_areas_name_trgm", "ix_gazetteer_name_trgm")


def _place_search_0008() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "place_search_0008", Path(__file__).with_name("0008_place_search_function.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PREVIOUS = _place_search_0008()
# 0008's query with the area trigram test alone in a materialized CTE, and the areas
# without a geometry left out after it.
CHANGES = (
    ("""    area_hits AS (
        SELECT a.code, a.name FROM areas a
        WHERE a.geom IS NOT NULL AND (a.name % ANY($1) OR a.name %>> ANY($1))
    ),""",
     """    area_hits AS MATERIALIZED (  -- the trigram test alone decides the plan: GIN
        SELECT a.code, a.name, a.geom IS NOT NULL AS placed FROM areas a
        WHERE a.name % ANY($1) OR a.name %>> ANY($1)
    ),"""),
    ("""        FROM area_hits h CROSS JOIN terms t
        WHERE h.name % t.term OR t.term <<% h.name""",
     """        FROM area_hits h CROSS JOIN terms t
        WHERE h.placed AND (h.name % t.term OR t.term <<% h.name)"""),
)


def _changed(body: str) -> str:
    for old, new in CHANGES:
        if old not in body:
            raise RuntimeError(f"0008's search query no longer holds {old!r}")
        body = body.replace(old, new)
    return body


SEARCH_BODY = _changed(PREVIOUS.SEARCH_BODY)


def upgrade() -> None:
    for index in TRIGRAM_INDEXES:
        op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    op.execute(PREVIOUS.function_sql(SEARCH_BODY))


def downgrade() -> None:
    op.execute(PREVIOUS.function_sql(PREVIOUS.SEARCH_BODY))
    for index in TRIGRAM_INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (fastupdate)")

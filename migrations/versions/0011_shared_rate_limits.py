"""shared rate limits: one GCRA state per key for every process and host

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Request limits per token and failed log-ins per source address were counted in each
process, so N processes allowed N times the limit. `rate_limits` holds, per key, the
theoretical arrival time of the generic cell rate algorithm (GCRA): a request is allowed
while `tat - now <= tolerance`, and each allowed request moves `tat` on by one emission
interval (1 / rate). `rate_limit_take` applies, in one call and under the row's lock,
requests a process already granted (`used`) and, with `want`, decides one more; it
answers the database's clock too, so hosts with skewed clocks agree (dispatch/core/
ratelimits.py). Rows whose `tat` lies in the past say nothing and are deleted now and then.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAKE = """
CREATE FUNCTION rate_limit_take(
    p_key text, p_used integer, p_want boolean, p_emission_s double precision,
    p_tolerance_s double precision,
    OUT granted boolean, OUT tat timestamptz, OUT db_now timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    db_now := clock_timestamp();
    INSERT INTO rate_limits AS r (key, tat) VALUES (p_key, db_now)
    ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, db_now)
    RETURNING r.tat INTO tat;
    tat := tat + make_interval(secs => p_used * p_emission_s);
    granted := p_want AND tat - db_now <= make_interval(secs => p_tolerance_s);
    IF granted THEN
        tat := tat + make_interval(secs => p_emission_s);
    END IF;
    UPDATE rate_limits SET tat = rate_limit_take.tat WHERE key = p_key;
END
$$
"""


def upgrade() -> None:
    op.execute("""
        CREATE TABLE rate_limits (
            key text PRIMARY KEY,
            tat timestamptz NOT NULL
        )
    """)
    op.execute("CREATE INDEX ix_rate_limits_tat ON rate_limits (tat)")
    op.execute(TAKE)


def downgrade() -> None:
    op.execute("DROP FUNCTION rate_limit_take(text, integer, boolean, double precision,"
               " double precision)")
    op.execute("DROP TABLE rate_limits")

# Shared set-up steps for scripts/run and scripts/test. Sourced, not executed.
# Every step checks first and does only what is missing, so running it again is cheap.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR="$ROOT/.siaga112"
VENV="$ROOT/.venv"
PG_HOST=${PGHOST_OVERRIDE:-127.0.0.1}
PG_PORT=${PGPORT_OVERRIDE:-5432}

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "this step needs root (or sudo): $*"; fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand, or set DATABASE_URL"
    if [ -z "${SIAGA112_APT_UPDATED:-}" ]; then
        say "apt-get update"
        as_root apt-get update -qq
        export SIAGA112_APT_UPDATED=1
    fi
    say "installing OS packages: $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_venv() {
    local python=${PYTHON:-python3}
    command -v "$python" >/dev/null 2>&1 || apt_install python3 python3-venv python3-pip
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python 3.11 or newer is needed ($("$python" --version) found)"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtualenv in .venv"
        "$python" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$python" -m venv "$VENV"; }
    fi
    local stamp="$VENV/.siaga112-installed"
    local want
    want=$(cat "$ROOT/pyproject.toml" "$ROOT/uv.lock" "$ROOT/scripts/uv-requirements.txt" \
           | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing Python packages into .venv from uv.lock (hashes checked)"
        "$VENV/bin/python" -m pip install -q --require-hashes -r "$ROOT/scripts/uv-requirements.txt"
        local pinned="$VENV/siaga112-requirements.txt"
        "$VENV/bin/uv" export --quiet --frozen --extra dev --no-emit-project \
            --format requirements-txt --project "$ROOT" -o "$pinned"
        "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --require-hashes -r "$pinned"
        "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e "$ROOT"
        echo "$want" > "$stamp"
    fi
}

# The console's browser tests (tests/console) drive Debian's Chromium through Playwright;
# Playwright's own browser download is not used (it cannot run on a closed network).
ensure_chromium() {
    [ -x /usr/bin/chromium ] || apt_install chromium
}

# Fails when pyproject.toml asks for something uv.lock does not hold (or holds no more):
# refresh the lock with `.venv/bin/uv lock` (README, "Dependencies").
check_lock() {
    "$VENV/bin/uv" lock --check --quiet --project "$ROOT" \
        || die "uv.lock does not match pyproject.toml: run .venv/bin/uv lock and commit uv.lock"
}

# --- PostgreSQL -------------------------------------------------------------------------

pg_major() {
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port {print $1; exit}'
    fi
}

server_reachable() {
    command -v pg_isready >/dev/null 2>&1 || return 1
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

# Runs psql as a database superuser: postgres over TCP when the server trusts it,
# else the postgres OS account over the Unix socket (a fresh Debian install).
admin_psql() {
    if PGCONNECT_TIMEOUT=3 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
    else
        as_root runuser -u postgres -- psql -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
    fi
}

start_local_server() {
    local major
    major=$(pg_major)
    if [ -z "$major" ]; then
        if ! command -v pg_lsclusters >/dev/null 2>&1; then
            apt_install postgresql postgresql-contrib
        fi
        major=$(pg_major)
        if [ -z "$major" ]; then
            major=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
            say "creating PostgreSQL $major cluster on port $PG_PORT"
            as_root pg_createcluster "$major" main -p "$PG_PORT" >/dev/null
        fi
    fi
    say "starting PostgreSQL $major"
    as_root pg_ctlcluster --skip-systemctl-redirect "$major" main start 2>/dev/null \
        || as_root pg_ctlcluster "$major" main start
    for _ in $(seq 1 30); do server_reachable && return 0; sleep 1; done
    die "PostgreSQL $major did not start on $PG_HOST:$PG_PORT"
}

ensure_postgis_package() {
    if [ "$(admin_psql -c "select count(*) from pg_available_extensions where name = 'postgis'")" = "1" ]; then
        return 0
    fi
    local major
    major=$(admin_psql -c "show server_version_num" | cut -c1-2)
    apt_install "postgresql-$major-postgis-3"
}

# Makes sure a local server with PostGIS runs, and writes .siaga112/env with the
# DATABASE_URL of the application database and a generated secret key.
ensure_local_database() {
    command -v psql >/dev/null 2>&1 || apt_install postgresql-client
    server_reachable || start_local_server
    ensure_postgis_package
    mkdir -p "$STATE_DIR"
    local env_file="$STATE_DIR/env"
    if [ ! -f "$env_file" ]; then
        local user=postgres password="" auth
        if ! PGCONNECT_TIMEOUT=3 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
            # No password-less TCP login: make a role of our own with a generated password.
            user=siaga112
            password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
            admin_psql -c "DO \$\$BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'siaga112') THEN
                    CREATE ROLE siaga112 LOGIN SUPERUSER PASSWORD '$password';
                ELSE ALTER ROLE siaga112 LOGIN SUPERUSER PASSWORD '$password'; END IF; END\$\$;"
        fi
        auth=$user${password:+:$password}
        umask 077
        cat > "$env_file" <<ENV
# Written by scripts/lib.sh for this checkout's local database. Delete it to start over.
export DATABASE_URL="postgresql+asyncpg://$auth@$PG_HOST:$PG_PORT/siaga112"
export SIAGA112_TEST_ADMIN_URL="postgresql://$auth@$PG_HOST:$PG_PORT/postgres"
export DISPATCH_SECRET_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
ENV
    fi
    # shellcheck disable=SC1090
    . "$env_file"
    if [ "$(admin_psql -c "select count(*) from pg_database where datname = 'siaga112'")" = "0" ]; then
        say "creating database siaga112"
        admin_psql -c "CREATE DATABASE siaga112"
    fi
    local extension
    for extension in postgis pg_trgm btree_gist; do  # as dispatch/databases.py EXTENSIONS
        admin_psql -d siaga112 -c "CREATE EXTENSION IF NOT EXISTS $extension"
    done
}

"""Fixtures for the fault-injection tests (`pytest -m fault`).

`private_postgres`: a throwaway PostgreSQL cluster of this test run (initdb into a temporary
folder, on a free loopback port, PostGIS from the OS package), so a test may stop and start
it without touching the machine's shared server. As root the PostgreSQL programs run as the
`postgres` account (initdb refuses root). It is stopped (`-m immediate`) and deleted at the
end of the session, whatever happened.

`private_pair`: a primary and its synchronous streaming standby (`pg_basebackup -R`), each
a private cluster like the above, for one test that kills the primary (`kill9()`) and
promotes the standby (`promote()`); both are removed at the end of the test.

`services`: starts `python -m dispatch.cli serve` processes (one per "worker") and kills
every one still running at the end of the test, by its pid.

Every wait here is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from dispatch.core.databases import create_database, sqlalchemy_url
from dispatch.tools import migrate
from tests.support import free_port, load_demo_into, make_settings

PG_COMMAND_TIMEOUT_S = 60.0
SERVICE_START_TIMEOUT_S = 30.0


def _postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL whose share folder has PostGIS."""
    found = []
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        major = Path(bindir).parent.name
        has_postgis = Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists()
        if has_postgis and Path(bindir, "initdb").exists() and Path(bindir, "pg_ctl").exists():
            found.append((int(major) if major.isdigit() else 0, Path(bindir)))
    return max(found)[1] if found else None


class PrivateCluster:
    """One throwaway cluster: `stop()` and `start()` make an outage, `destroy()` removes it."""

    def __init__(self, bindir: Path, directory: Path, port: int) -> None:
        self.bindir = bindir
        self.directory = directory
        self.port = port
        self.runner: list[str] = []
        if os.geteuid() == 0:
            self.runner = ["runuser", "-u", "postgres", "--"]
        self.url = ""  # the service database, migrated and with the demo region

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, program: str, *args: str) -> list[str]:
        return [*self.runner, str(self.bindir / program), *args]

    def _pg_ctl(self, *args: str) -> list[str]:
        return self._command("pg_ctl", "-D", str(self.directory), *args)

    def _start_command(self) -> list[str]:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        return self._pg_ctl("-w", "-t", "30", "-l", str(self.directory / "server.log"),
                            "-o", options, "start")

    def run_sync(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=PG_COMMAND_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}\n{self.log_tail()}")

    async def _run(self, command: list[str]) -> None:
        """Without blocking the event loop (the load keeps running meanwhile)."""
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            async with asyncio.timeout(PG_COMMAND_TIMEOUT_S):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n"
                               f"{output.decode(errors='replace')}\n{self.log_tail()}")

    def initialise(self) -> None:
        if self.runner:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.run_sync(self._command("initdb", "-D", str(self.directory), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8", "--locale=C",
                                    "--no-sync"))
        self.run_sync(self._start_command())

    async def stop(self, mode: str = "fast") -> None:
        await self._run(self._pg_ctl("-w", "-t", "30", "-m", mode, "stop"))

    async def start(self) -> None:
        await self._run(self._start_command())

    async def configure(self, **settings: str) -> None:
        """ALTER SYSTEM SET each setting, then reload (settings that need a reload only)."""
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            for name, value in settings.items():
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def clone_as_standby(self, primary: PrivateCluster, name: str) -> None:
        """Make this (empty) cluster a streaming standby of the running `primary`
        (`pg_basebackup -R`; its primary_conninfo names it `name`, for
        synchronous_standby_names) and start it."""
        if self.runner:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        conninfo = f"host=127.0.0.1 port={primary.port} user=postgres application_name={name}"
        self.run_sync(self._command("pg_basebackup", "-D", str(self.directory), "-d",
                                    conninfo, "-R", "-X", "stream", "-c", "fast", "--no-sync"))
        (self.directory / "server.log").unlink(missing_ok=True)  # the primary's, copied
        self.run_sync(self._start_command())
        self.url = primary.url.replace(f":{primary.port}/", f":{self.port}/")

    def kill9(self) -> None:
        """SIGKILL the postmaster and every process of it at once, as a power cut would:
        stopped first (SIGSTOP) so that it forks nothing while its children are listed."""
        postmaster = int((self.directory / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)
        try:
            children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        finally:
            os.kill(postmaster, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)

    async def promote(self) -> None:
        """`pg_ctl promote`, returning once the standby accepts writes (what Patroni,
        pg_auto_failover or repmgr do in production)."""
        await self._run(self._pg_ctl("-w", "-t", "30", "promote"))

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run(self._pg_ctl("-m", "immediate", "stop"), capture_output=True,
                           timeout=PG_COMMAND_TIMEOUT_S, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.directory / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _cluster_bindir() -> Path:
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server programs with PostGIS under /usr/lib/postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres account to run initdb as")
    return bindir


def _cluster_directory() -> Path:
    # As root the folder must be reachable by the postgres account: /tmp, not $TMPDIR.
    return Path(tempfile.mkdtemp(prefix="siaga112-pg-",
                                 dir="/tmp" if os.geteuid() == 0 else None))


async def _prepare(cluster: PrivateCluster) -> None:
    """initdb, start, and the database `siaga112` migrated with the demo region."""
    await asyncio.to_thread(cluster.initialise)
    cluster.url = sqlalchemy_url(await create_database(cluster.admin_url, "siaga112"))
    await migrate.upgrade_async(cluster.url)
    await load_demo_into(cluster.url)


@pytest.fixture(scope="session")
async def private_postgres() -> AsyncIterator[PrivateCluster]:
    """A private cluster with the database `siaga112` (PostGIS, pg_trgm, migrated, demo
    region loaded); `cluster.url` is its asyncpg URL."""
    cluster = PrivateCluster(_cluster_bindir(), _cluster_directory(), free_port())
    try:
        await _prepare(cluster)
        yield cluster
    finally:
        cluster.destroy()


STANDBY_NAME = "siaga112_standby"


@pytest.fixture
async def private_pair() -> AsyncIterator[tuple[PrivateCluster, PrivateCluster]]:
    """(primary, standby): a private cluster prepared like `private_postgres`, and its
    streaming standby, synchronous (`synchronous_standby_names` names it, and
    `synchronous_commit = on`): a commit returns only once the standby has flushed its
    WAL. Both are removed at the end of the test."""
    bindir = _cluster_bindir()
    primary = PrivateCluster(bindir, _cluster_directory(), free_port())
    standby = PrivateCluster(bindir, _cluster_directory(), free_port())
    try:
        await _prepare(primary)
        await asyncio.to_thread(standby.clone_as_standby, primary, STANDBY_NAME)
        await primary.configure(synchronous_standby_names=STANDBY_NAME,
                                synchronous_commit="on")
        conn = await asyncpg.connect(primary.admin_url, timeout=10)
        try:  # bounded wait until the standby streams and is the synchronous one
            async with asyncio.timeout(30):
                while True:
                    state = await conn.fetchval("SELECT sync_state FROM pg_stat_replication "
                                                "WHERE application_name = $1", STANDBY_NAME)
                    if state == "sync":
                        break
                    await asyncio.sleep(0.1)
        finally:
            await conn.close()
        yield primary, standby
    finally:
        primary.destroy()
        standby.destroy()


@pytest.fixture
async def demo_database(make_database) -> str:  # type: ignore[no-untyped-def]
    """A fresh database on the shared server, migrated, demo region loaded (dropped at the
    end of the run by make_database)."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    return url


@dataclass
class Service:
    """One `dispatch serve` process."""

    process: asyncio.subprocess.Process
    port: int
    log_path: Path
    killed: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        """SIGKILL, as an out-of-memory killer or a pulled plug would do."""
        os.kill(self.pid, signal.SIGKILL)
        self.killed = True

    def rss_kib(self) -> int:
        """The process's resident memory (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def exceptions_in_log(self) -> dict[str, int]:
        """The final line of each traceback in the process's log, counted."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        found: dict[str, int] = {}
        for line in text.splitlines():
            if line and not line.startswith((" ", "Traceback", "ERROR", "WARNING", "INFO",
                                             "The above", "During handling", "20")):
                found[line[:160]] = found.get(line[:160], 0) + 1
        return found

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Services:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Service] = []

    async def start(self, database_url: str, **env: str) -> Service:
        """Start a server process on a free port and wait (bounded) until /readyz is 200."""
        port = free_port()
        log_path = self.log_dir / f"serve-{port}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DISPATCH_SECRET_KEY": make_settings(database_url).secret_key or "",
            "DISPATCH_LOG_LEVEL": "WARNING",
            **env,
        }
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "dispatch.tools.cli", "serve", "--host", "127.0.0.1",
                "--port", str(port), env=environment, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=str(Path(__file__).parents[2]))
        service = Service(process, port, log_path)
        self.started.append(service)
        deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
        async with httpx.AsyncClient(base_url=service.base_url, timeout=2) as client:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"dispatch serve exited: {service.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return service
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dispatch serve not ready in time: {service.log_tail()}")
                await asyncio.sleep(0.1)

    async def stop_all(self) -> None:
        for service in self.started:
            if service.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    service.process.kill()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await service.process.wait()


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    started = Services(tmp_path)
    try:
        yield started
    finally:
        await started.stop_all()


def unique_numbers(prefix: str = "+62814") -> Iterator[str]:
    """Valid Indonesian mobile numbers, different in every test run."""
    base = secrets.randbelow(50) * 1_000_000
    counter = 0
    while True:
        counter += 1
        yield f"{prefix}{base + counter:08d}"


def is_log_prefix(seqs: list[int], log: list[int], *, after: int, through: int) -> bool:
    """`seqs` (what a feed subscriber received) are exactly the log's feed events with
    after < seq <= seqs[-1] (each once, in order, no gap) and reach at least `through`.
    Events appended later (the periodic stats.updated) may or may not have arrived yet."""
    if not seqs:
        return through <= after
    return seqs[-1] >= through and seqs == [s for s in log if after < s <= seqs[-1]]

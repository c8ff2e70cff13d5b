"""`dispatch warnings import FILE`: a CAP 1.2 warning (BMKG's nowcast) from a file, with
the same checks as `POST /v1/warnings`; the actor recorded is `cli:<login name>`.
Registered in dispatch/tools/cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.interop.cap_xml import MAX_CAP_BYTES
from dispatch.interop.hazards import receive_warning
from dispatch.tools.cli_support import cli_actor, console, fail, in_transaction

warnings_app = typer.Typer(help="Hazard warnings (CAP 1.2) received.", no_args_is_help=True)


@warnings_app.command("import")
def import_warning(path: Path) -> None:
    """Store one CAP 1.2 warning from FILE (as POST /v1/warnings would)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CAP_BYTES + 1)
    except OSError as exc:
        fail(str(exc))

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await receive_warning(session, data, actor=cli_actor())

    view = in_transaction(work)
    names = ", ".join(f"{a['name']} ({a['code']})" for a in view["areas"]) or "none"
    console.print(f"warning [bold]{view['identifier']}[/] of {view['sender']} stored; "
                  f"areas of the region: {names}")

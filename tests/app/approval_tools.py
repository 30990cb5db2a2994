"""A user's ``@tool`` module whose tool requires approval, for the tests
that run ``sage serve`` in processes of its own (``SAGE_TOOLS``); each call
is written to the file named by ``PAY_LOG``, so a test sees which server
made it and how often."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from tests.app.server_process import spawn, wait_ready

PAY_TOOLS = '''
import os
from pathlib import Path

from sagents.tools import tool


@tool(requires_approval=True)
def pay(to: str, amount: int) -> str:
    """Pay someone."""
    with Path(os.environ["PAY_LOG"]).open("a") as log:
        log.write(f"{to} {amount}\\n")
    return f"paid {amount} to {to}"
'''


def serve_with_pay(
    tmp_path: Path, data: Path, port: int, llm_url: str, pay_log: Path, **settings: str
) -> subprocess.Popen[bytes]:
    """``sage serve`` on ``data`` with the ``pay`` tool, ready to take requests."""
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / "pay_tools.py").write_text(textwrap.dedent(PAY_TOOLS))
    paths = [str(folder), str(Path(__file__).resolve().parents[2])]
    data.mkdir(exist_ok=True)
    proc = spawn(
        data,
        port,
        llm_url,
        data / f"server-{port}-{len(list(data.glob('server-*')))}.log",
        SAGE_TOOLS="pay_tools",
        SAGE_BUILTIN_TOOLS="",
        PAY_LOG=str(pay_log),
        PYTHONPATH=os.pathsep.join(paths),
        **settings,
    )
    wait_ready(f"http://127.0.0.1:{port}", proc, timeout_s=90)
    return proc

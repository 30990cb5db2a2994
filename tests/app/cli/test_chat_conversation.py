"""``sage chat`` without a message, under a pseudo-terminal as a user has it:
each line a turn of one session, Ctrl-C cancels the running answer and the
conversation goes on, Ctrl-D leaves."""

from __future__ import annotations

import codecs
import contextlib
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import httpx2

from sagents.testing import Turn
from tests.app.conftest import StartServer


class Terminal:
    """A child process on a pty: write keys, read until a text appears."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the command, the pty its terminal
            os.chdir(cwd)
            os.execve(args[0], args, env)
        self.pid, self.fd, self.seen = pid, fd, ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.mark = 0

    def _read(self) -> None:
        self.seen += self.decoder.decode(os.read(self.fd, 65536))

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def expect(self, text: str, timeout_s: float = 30) -> str:
        """Wait for ``text`` after what the last expect matched."""
        deadline = time.monotonic() + timeout_s
        while text not in self.seen[self.mark :]:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never came; the terminal shows:\n{self.seen}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self._read()
                except OSError:  # the child closed the terminal
                    assert text in self.seen[self.mark :], self.seen
        self.mark = self.seen.index(text, self.mark) + len(text)
        return self.seen

    def wait(self, timeout_s: float = 30) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            with_data, _, _ = select.select([self.fd], [], [], 0.1)
            if with_data:
                with contextlib.suppress(OSError):  # the child closed the terminal
                    self._read()
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"did not exit:\n{self.seen}")


def test_a_conversation_in_a_terminal(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server(
        [
            Turn(text="First answer."),
            Turn(text="tok " * 3000, faults={"token_delay_s": 0.01}),
            Turn(text="Third answer."),
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env |= {"SAGE_URL": url, "SAGE_DATA_DIR": str(tmp_path / "cli"), "COLUMNS": "100"}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    term = Terminal([sys.executable, "-m", "app", "chat", "--no-deep", "--no-multi"], env, tmp_path)
    term.expect("you› ")
    term.send("hello\n")
    term.expect("First answer.")
    term.expect("you› ")
    term.send("talk \\\nat length\n")  # a message over two lines
    term.expect("tok tok")
    term.send("\x03")  # Ctrl-C: the answer stops, the conversation stays
    term.expect("cancelled")
    term.expect("you› ")
    term.send("and now?\n")
    term.expect("Third answer.")
    term.expect("you› ")
    term.send("\x04")  # Ctrl-D leaves
    assert term.wait() == 0, term.seen

    sessions = httpx2.get(f"{url}/api/v1/sessions").json()["items"]
    assert len(sessions) == 1  # every turn in one session
    detail = httpx2.get(f"{url}/api/v1/sessions/{sessions[0]['id']}").json()
    assert [r["status"] for r in detail["runs"]] == ["finished", "cancelled", "finished"]
    messages = httpx2.get(f"{url}/api/v1/sessions/{sessions[0]['id']}/messages").json()
    assert "talk \nat length" in [m["content"] for m in messages if m["role"] == "user"]
    # the arrow keys' history outlives the conversation
    kept = (tmp_path / "state" / "sage" / "chat_history").read_text()
    assert "hello" in kept and "and now?" in kept


def test_exit_leaves_the_conversation(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server([Turn(text="ok")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env |= {"SAGE_URL": url, "SAGE_DATA_DIR": str(tmp_path / "cli")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    term = Terminal([sys.executable, "-m", "app", "chat"], env, tmp_path)
    term.expect("you› ")
    term.send("/exit\n")
    assert term.wait() == 0, term.seen

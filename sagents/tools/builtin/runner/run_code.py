"""Runs the code of an ``execute_python`` call, read from stdin, as ``__main__``.

Inside the sandbox, in the session's workspace (the current folder).
"""

import sys

source = sys.stdin.read()
sys.argv = ["<execute_python>"]
exec(compile(source, "<execute_python>", "exec"), {"__name__": "__main__"})

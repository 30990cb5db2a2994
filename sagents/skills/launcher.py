"""Runs first inside the sandbox: set the resource limits, drop root, exec the script.

Executed as a file by the sandbox's own Python (``python -I -S launcher.py``),
never imported by Sage, so it may only use the standard library. Limits are
set here rather than on bubblewrap itself because ``RLIMIT_NPROC`` would
then also cap bubblewrap's set-up and, worse, be inherited as the user
namespace's ceiling for every other sandbox of the same user.

Usage: ``launcher.py CPU_S AS_BYTES FSIZE_BYTES NPROC UID -- PROGRAM ARGS...``
(``UID`` is ``-`` to keep the current user). When started as root (Sage
running as root runs bubblewrap without a user namespace), it switches to
``UID`` so the kernel enforces ``RLIMIT_NPROC``, which it skips for root.
"""

import os
import resource
import sys


def main(argv: list[str]) -> int:
    cpu, memory, fsize, nproc, uid = argv[1:6]
    if argv[6] != "--" or len(argv) < 8:
        sys.stderr.write("launcher: bad arguments\n")
        return 2
    limits = (
        (resource.RLIMIT_CPU, int(cpu)),
        (resource.RLIMIT_AS, int(memory)),
        (resource.RLIMIT_FSIZE, int(fsize)),
        (resource.RLIMIT_NPROC, int(nproc)),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
    )
    for which, value in limits:
        # CPU: SIGXCPU at the soft limit (reported as such), SIGKILL a second later.
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))
    if uid != "-" and os.getuid() == 0:
        target = int(uid)
        os.setgroups([])
        os.setresgid(target, target, target)
        os.setresuid(target, target, target)
    program = argv[7]
    os.execv(program, argv[7:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

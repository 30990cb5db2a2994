"""The seccomp filter that keeps scripts from making user namespaces.

A user namespace is how an unprivileged process gets capabilities again
(over new mount, network… namespaces it then owns), the entry point of many
kernel exploits. bubblewrap's ``--disable-userns`` needs the sandbox itself
to be in a user namespace, and when Sage runs as root it cannot use one: the
namespace would map the script to host root, and the kernel does not count
processes against ``RLIMIT_NPROC`` for root. So the sandbox gets this small
classic-BPF filter through ``bwrap --seccomp FD`` instead, in both modes:

- ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with EPERM;
- ``clone3`` fails with ENOSYS (its flags are behind a pointer the filter
  cannot read; the C library then falls back to ``clone``, as under Docker's
  and Flatpak's filters);
- on x86-64, x32-ABI system calls fail (they would bypass the numbers
  checked here); calls of another architecture (32-bit) fail with ENOSYS.

Written by hand (20 instructions) rather than through libseccomp: its Python
binding is not on PyPI, and the program is small enough to read whole.
"""

from __future__ import annotations

import platform
import struct
from dataclasses import dataclass

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_EPERM = 1
_ENOSYS = 38
CLONE_NEWUSER = 0x10000000
_X32_BIT = 0x40000000
# struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64), args[6] (u64)
_NR, _ARCH, _ARG0_LOW = 0, 4, 16


@dataclass(frozen=True, slots=True)
class Arch:
    audit_arch: int
    unshare: int
    clone: int
    clone3: int
    x32: bool


ARCHES = {
    "x86_64": Arch(0xC000003E, unshare=272, clone=56, clone3=435, x32=True),
    "aarch64": Arch(0xC00000B7, unshare=97, clone=220, clone3=435, x32=False),
}


def _ins(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def no_userns_filter(machine: str | None = None) -> bytes | None:
    """The BPF program for this machine, or None where it is not known (then
    nested user namespaces are not blocked; the sandbox status says so)."""
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    deny = _ERRNO | _EPERM
    nosys = _ERRNO | _ENOSYS
    program = [
        _ins(_LD_W_ABS, 0, 0, _ARCH),
        _ins(_JEQ_K, 1, 0, arch.audit_arch),
        _ins(_RET_K, 0, 0, nosys),  # another ABI (32-bit calls on a 64-bit kernel)
        _ins(_LD_W_ABS, 0, 0, _NR),
    ]
    if arch.x32:
        program += [_ins(_JGE_K, 0, 1, _X32_BIT), _ins(_RET_K, 0, 0, deny)]
    # Then: unshare/clone → check flags (at +4/+3 from the next), clone3 → ENOSYS.
    program += [
        _ins(_JEQ_K, 3, 0, arch.unshare),
        _ins(_JEQ_K, 2, 0, arch.clone),
        _ins(_JEQ_K, 5, 0, arch.clone3),
        _ins(_RET_K, 0, 0, _ALLOW),
        _ins(_LD_W_ABS, 0, 0, _ARG0_LOW),
        _ins(_JSET_K, 0, 1, CLONE_NEWUSER),
        _ins(_RET_K, 0, 0, deny),
        _ins(_RET_K, 0, 0, _ALLOW),
        _ins(_RET_K, 0, 0, nosys),
    ]
    return b"".join(program)

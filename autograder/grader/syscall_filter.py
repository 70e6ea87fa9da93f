"""The system calls a sandbox may not make, refused by a seccomp filter that every process of the
sandbox inherits and none can remove.

Linux keeps the kernel's keyrings per user, quotas included (/proc/sys/kernel/keys: 200 keys
and 20,000 bytes for a user, 1,000,000 keys and 25,000,000 bytes for root), by user id alone,
whatever the user namespace. A kernel running as the user who grades could hold that user's
whole quota while it runs, and no notebook needs a keyring. So the keyring calls (add_key,
request_key, keyctl) fail with ENOSYS, as on a Linux built without keys, and so does every
call made through an ABI other than the machine's own (32-bit calls from a 64-bit process, x32),
whose numbers a filter written for the native ones would not see.

The filter is classic BPF over `struct seccomp_data` (the call's number at offset 0, its ABI at
offset 4), built here for the machines whose numbers are known (NATIVE); elsewhere none is
installed (`program` is None) and the keyrings stay open, as docs/architecture.md says.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

from autograder.grader.mounts import libc

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
LOAD_WORD, JUMP_IF_EQUAL, JUMP_IF_AT_LEAST, RETURN = 0x20, 0x15, 0x35, 0x06
ALLOW, REFUSE = 0x7FFF0000, 0x00050000 | errno.ENOSYS  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
NUMBER_AT, ABI_AT = 0, 4
X32_BIT = 0x40000000
# {machine: (its ABI's audit number, the first call number of another ABI on it or None,
#  {refused call: its number})}
NATIVE = {
    "x86_64": (0xC000003E, X32_BIT, {"add_key": 248, "request_key": 249, "keyctl": 250}),
    "aarch64": (0xC00000B7, None, {"add_key": 217, "request_key": 218, "keyctl": 219}),
}


class _Program(ctypes.Structure):
    _fields_ = [("length", ctypes.c_ushort), ("instructions", ctypes.c_char_p)]


def program(machine: str | None = None) -> list[tuple[int, int, int, int]] | None:
    """The filter for `machine` (this one's if None) as (code, jump if true, jump if false,
    operand) instructions, or None where its call numbers are not known."""
    if (native := NATIVE.get(machine or platform.machine())) is None:
        return None
    abi, foreign_from, refused = native
    body = [(JUMP_IF_AT_LEAST, 0, 0, foreign_from)] if foreign_from is not None else []
    body += [(JUMP_IF_EQUAL, 0, 0, number) for number in refused.values()]
    # each jump's true branch goes to the last instruction (REFUSE): count what lies between
    body = [(code, len(body) - at, 0, operand) for at, (code, _, _, operand) in enumerate(body)]
    return [(LOAD_WORD, 0, 0, ABI_AT), (JUMP_IF_EQUAL, 1, 0, abi), (RETURN, 0, 0, REFUSE),
            (LOAD_WORD, 0, 0, NUMBER_AT), *body, (RETURN, 0, 0, ALLOW), (RETURN, 0, 0, REFUSE)]


def install() -> bool:
    """Refuse the calls above in this process and every process it starts (no new privileges
    first, as an unprivileged filter requires); False where there is no filter for this machine.
    Raises OSError if Linux refuses the filter."""
    instructions = program()
    if instructions is None:
        return False
    packed = b"".join(struct.pack("=HBBI", *instruction) for instruction in instructions)
    filter_program = _Program(len(instructions), packed)
    if (libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                            ctypes.byref(filter_program), 0, 0) != 0):
        error = ctypes.get_errno()
        raise OSError(error, f"cannot install the sandbox's system-call filter: "
                             f"{errno.errorcode.get(error, error)}")
    return True

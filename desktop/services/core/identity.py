"""Who is at the keyboard, as the operating system vouches for it — never an environment variable.

The account is read from the process's real user id (the password database on POSIX; the
Windows API on Windows), so no variable a person can set in a shell changes who they are.
"""

from __future__ import annotations

import os
import sys

__all__ = ["os_login"]


def os_login() -> str:
    """The login name of the operating-system account running this process ("unknown" if it has none)."""
    if sys.platform == "win32":  # pragma: no cover - not run on this CI
        import ctypes

        size = ctypes.c_ulong(257)
        buf = ctypes.create_unicode_buffer(size.value)
        if ctypes.windll.advapi32.GetUserNameW(buf, ctypes.byref(size)):  # type: ignore[attr-defined]
            return buf.value or "unknown"
        return "unknown"
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no passwd entry (some containers)
        return "unknown"

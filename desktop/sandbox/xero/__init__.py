"""Xero Accounting API emulator (OAuth 2.0 identity, connections, ``api.xro/2.0``, webhooks).

Mounted by the sandbox server under ``/xero``; see :class:`XeroEmulator`.
"""

from desktop.sandbox.xero.emulator import XeroEmulator

__all__ = ["XeroEmulator"]

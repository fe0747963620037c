"""The Returns Management System emulator (contract: ``docs/rms-api.yaml``)."""

from desktop.sandbox.rms.emulator import RmsEmulator

__all__ = ["RmsEmulator"]

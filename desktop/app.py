"""Composition root: builds the services in order, opens the main window, wires shutdown."""

from __future__ import annotations

import argparse

from desktop.services.config import AppConfig


def run_gui(args: argparse.Namespace, config: AppConfig) -> int:
    raise NotImplementedError("the app shell is being built")

"""Local emulators of QuickBooks Online, Xero and the RMS: the outside world, reached only over HTTP.

Nothing here imports from ``desktop.services`` or Qt.
"""

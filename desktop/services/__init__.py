"""Everything that is not Qt. Nothing here may import PySide6 (import-linter and a test enforce it)."""

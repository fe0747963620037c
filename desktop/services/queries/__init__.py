"""Read models for the screens and the CLI: dashboard, returns grid, error log, organizations."""

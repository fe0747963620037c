"""The manual entry page's parts: the keyboard-first form, the preview and the entries list."""

"""Qt only: main window, pages, dialogs, item models and the background-operation helper."""

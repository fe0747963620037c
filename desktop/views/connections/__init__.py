"""The Connections page's parts: the grid model, the connect dialog, the details panel, the actions."""

"""The Returns page's parts: the windowed returns model and the detail panel."""

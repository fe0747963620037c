"""Dashboard widgets: trend charts, the queue table model and formatters (the page is in ``pages``)."""

"""The bottom "Error log" dock: the event rows (``model``), their filter (``filter``), the details
panel and Resolve dialog (``details``) and the dock that puts them together (``dock``)."""

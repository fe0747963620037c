"""The first-run set-up assistant and what opens it."""

#: The key pages emit (``navigate_requested``) to open the assistant.
SETUP_KEY = "setup"

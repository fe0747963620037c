"""The Settings page's parts: its tables and dialogs, the workstation card and the exchange-rates section.

The page itself (:mod:`desktop.views.pages.settings`) puts them together and runs the service calls.
"""

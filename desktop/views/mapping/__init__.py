"""The Mappings page's parts: code list, ledger tree, rules table, drag and drop, undo, dialogs.

- :mod:`.editing` — Qt-free: what a drop does to a rule list (or why it is refused), and how
  well each RMS code is mapped; refusals quote the service validator word for word;
- :mod:`.impact` — Qt-free: what the page loads for one organization, and which recent returns a
  change would re-route (the "preview on recent returns");
- :mod:`.mime` — the drag payload (``application/x-returns-ledger-code``);
- :mod:`.code_model`, :mod:`.ledger_model`, :mod:`.rules_model` — the item models;
- :mod:`.commands` — undo commands; :mod:`.dialogs` — save (with the diff) and preview dialogs;
- :mod:`.editor` — the editor widget the page hosts.
"""

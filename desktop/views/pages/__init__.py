"""The main window's pages, one module each; :mod:`desktop.views.pages.catalog` lists them in sidebar order.

Deliberately empty: the feature folders (``views/mapping``, ``views/settings``, …) import
``pages.base``, and Python runs this file first — were it to import every page, each page would
import its own feature folder back (an import cycle that made a feature module fail to import on its own).
"""

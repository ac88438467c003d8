"""Helpers shared by the pages: cached loaders, the session's runs, charts, widgets."""

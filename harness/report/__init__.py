"""Reporting for people: index.html (tables, charts, question explorer) and its pieces."""

"""Prompt text: schema representations, templates, few-shot selection, SQL extraction."""

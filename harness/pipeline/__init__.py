"""Pipelines above the stages: they compose generation, scoring and reporting
(bench, scoring from files, selftest, reproduce, routing)."""

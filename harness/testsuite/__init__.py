"""Distilled test suites for any SQLite benchmark (Zhong, Yu and Klein, EMNLP 2020).

`dbinfo` reads a database's structure and values, `literals` types the gold queries'
literals to columns, `fuzz` draws random databases of the same schema, `neighbors` builds
near-miss variants of each gold query, `distill` keeps the random databases that tell
them apart, and `build` runs it per database into the official test-suite layout.
"""

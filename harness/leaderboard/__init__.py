"""Leaderboard: scored run folders in, LEADERBOARD.md + leaderboard.json out.

Each (benchmark, split) gets its own table: numbers measured on different questions are
never ranked against each other. leaderboard.json keeps every entry's per-question 0/1
vectors keyed by question id, so any two leaderboards can later be compared paired
(`harness diff`). Nothing time-dependent is written, so rebuilding from the same runs
gives byte-identical files.

- columns: what a table shows (metrics in column order, level order, names, marks)
- load: run folders and leaderboard.json read into typed records, checked
- entry: one run folder to one leaderboard entry
- build: entries grouped into one table per (benchmark, split), ranked
- render: LEADERBOARD.md and leaderboard.json

The page and the PNGs drawn from a leaderboard live in harness/report/, which reads this
package (never the other way round); report/publish.py writes them all.
"""

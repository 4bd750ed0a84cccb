"""A small BIRD-format dev set for prompt-format tests (BIRD's databases are not here).

The real BIRD dev questions, evidence and tables.json entries of a few databases
(../shared/data/bird), with SQLite databases built from those entries and filled with
deterministic rows whose strings come from the questions (so value retrieval has
something to find), plus NULLs, empty strings, numbers stored as text and long text.
The stored upstream prompts (tests/data/prompts/*-bird-mini.jsonl.gz) were built from
exactly what `make_bird_mini` writes.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path

DB_IDS = ("debit_card_specializing", "california_schools")
_ROWS = 24
_TYPES = {"integer": "INTEGER", "real": "REAL", "text": "TEXT", "date": "DATE"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _words(questions: list[str]) -> list[str]:
    found: list[str] = []
    for q in questions:
        found += re.findall(r"[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*", q)
        found += re.findall(r"'([^']{1,30})'", q)
    return list(dict.fromkeys(found)) or ["value"]


def _value(rng: random.Random, ctype: str, words: list[str], row: int) -> object:
    roll = rng.random()
    if roll < 0.08:
        return None
    if ctype in ("integer", "number"):
        return rng.randint(0, 500)
    if ctype == "real":
        return round(rng.uniform(0, 100), 3)
    if ctype == "date":
        return f"20{rng.randint(10, 23)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if roll < 0.12:
        return ""
    if roll < 0.18:
        return str(rng.randint(1, 99))  # a number stored as text (not indexed)
    if roll < 0.22:
        return " ".join(rng.choice(words) for _ in range(8))  # longer than 40 characters
    return rng.choice(words) if rng.random() < 0.7 else f"{rng.choice(words)} {row}"


def make_bird_mini(bird: Path, root: Path) -> Path:
    """From BIRD's JSON in `bird`, write root/{dev.json, dev_tables.json,
    dev_databases/<db>/<db>.sqlite}; return root."""
    dev = [e for e in json.loads((bird / "dev.json").read_text()) if e["db_id"] in DB_IDS]
    tables = [e for e in json.loads((bird / "dev_tables.json").read_text()) if e["db_id"] in DB_IDS]
    root.mkdir(parents=True, exist_ok=True)
    (root / "dev.json").write_text(json.dumps(dev, indent=2))
    (root / "dev_tables.json").write_text(json.dumps(tables, indent=2))
    for entry in tables:
        db_id = entry["db_id"]
        rng = random.Random(db_id)
        words = _words([e["question"] for e in dev if e["db_id"] == db_id])
        path = root / "dev_databases" / db_id / f"{db_id}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        cols = entry["column_names_original"]
        pks = [p if isinstance(p, list) else [p] for p in entry["primary_keys"]]
        for t_idx, table in enumerate(entry["table_names_original"]):
            mine = [(i, name) for i, (t, name) in enumerate(cols) if t == t_idx]
            lines = [
                f"    {_q(name)} {_TYPES.get(entry['column_types'][i], 'TEXT')}" for i, name in mine
            ]
            for pk in pks:
                if all(cols[c][0] == t_idx for c in pk):
                    lines.append(f"    PRIMARY KEY ({', '.join(_q(cols[c][1]) for c in pk)})")
            for src, dst in entry["foreign_keys"]:
                if cols[src][0] == t_idx:
                    ref = _q(entry["table_names_original"][cols[dst][0]])
                    key, target = _q(cols[src][1]), _q(cols[dst][1])
                    lines.append(f"    FOREIGN KEY ({key}) REFERENCES {ref}({target})")
            conn.execute(f"CREATE TABLE {_q(table)}\n(\n" + ",\n".join(lines) + "\n)")
            for row in range(_ROWS):
                values = [_value(rng, entry["column_types"][i], words, row) for i, _ in mine]
                marks = ", ".join("?" for _ in values)
                conn.execute(f"INSERT OR IGNORE INTO {_q(table)} VALUES ({marks})", values)
        conn.commit()
        conn.close()
    return root

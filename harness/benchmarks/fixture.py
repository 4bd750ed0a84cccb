"""Small JSONL fixtures: the frozen benchmark that ships in `evals/fixture/`.

Layout of a fixture directory (see evals/README.md):

    <split>.jsonl               one example per line:
                                {"id", "db_id", "question", "gold_sql"} plus optional
                                "context" (CREATE TABLE text), "evidence", "difficulty"
    databases/<db_id>.sql       optional: the database as a readable SQL script (source of truth)
    database/<db_id>/<db_id>.sqlite   optional: a ready database in Spider layout

A `.sql` script is materialised once into `<build_dir>/database/<db_id>/<db_id>.sqlite`
(Spider layout, so every scorer treats it like a Spider database) and rebuilt only when the
script's sha256 changes. An example whose database is absent is still loaded when it carries
`context`: its schema entry then comes from that text, and its db_id is listed as missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.benchmarks.spider import database_variants
from harness.dbschema import DbSchema, read_db_schema, run_script, script_schema
from harness.errors import DataError
from harness.io import atomic_path, cache_root, jsonl_objects, write_atomic
from harness.records import BenchmarkData, Example

try:  # POSIX; without it concurrent builds still never expose a half-built file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

REQUIRED_FIELDS = ("id", "db_id", "question", "gold_sql")
OPTIONAL_FIELDS = ("context", "evidence", "difficulty")
KNOWN_FIELDS = frozenset((*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "_line"))
SCRIPTS_DIR = "databases"
BUILD_DIR = ".build"


def default_fixture_dir() -> Path:
    """`evals/fixture` of the source tree this package was imported from."""
    return Path(__file__).resolve().parents[2] / "evals" / "fixture"


# ---------------------------------------------------------------------------- reading


def read_split(path: Path) -> list[dict[str, Any]]:
    """Validated records of one JSONL split, each with its line number under `_line`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        siblings = sorted(p.stem for p in path.parent.glob("*.jsonl"))
        hint = f"splits here: {', '.join(siblings)}" if siblings else "no *.jsonl split here"
        raise DataError(f"{path}: not found ({hint})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None

    records: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for lineno, obj in jsonl_objects(lines, path, DataError):
        where = f"{path}:{lineno}"
        for name in REQUIRED_FIELDS:
            if name not in obj:
                raise DataError(f"{where}: missing field {name!r}")
            if not isinstance(obj[name], str):
                raise DataError(f"{where}: field {name!r} must be a string")
        for name in ("id", "db_id", "gold_sql"):
            if not obj[name].strip():
                raise DataError(f"{where}: field {name!r} is empty")
        for name in OPTIONAL_FIELDS:
            if name in obj and not isinstance(obj[name], str):
                raise DataError(f"{where}: field {name!r} must be a string")
        if "/" in obj["db_id"] or "\\" in obj["db_id"] or obj["db_id"].startswith("."):
            raise DataError(f"{where}: field 'db_id' is not a plain name: {obj['db_id']!r}")
        ex_id = obj["id"]
        if ex_id in first_line:
            raise DataError(f"{where}: duplicate id {ex_id!r} (first on line {first_line[ex_id]})")
        first_line[ex_id] = lineno
        obj["_line"] = lineno
        records.append(obj)
    if not records:
        raise DataError(f"{path}: no examples")
    return records


# ---------------------------------------------------------------------------- building


def _fk_violations(conn: sqlite3.Connection) -> list[str]:
    return [
        f"{table} row {rowid} -> {parent}"
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
    ]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    # Serialises check-build-stamp across processes, so a stamp always describes the
    # database file next to it. Readers never need the lock: files only change by rename.
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(build_dir / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def build_database(script_path: Path, build_dir: Path) -> Path:
    """`<build_dir>/database/<db_id>/<db_id>.sqlite` from `<db_id>.sql`, rebuilt when the
    script's sha256 differs from the one stamped at the last build."""
    db_id = script_path.stem
    data = script_path.read_bytes()
    digest = _sha256(data)
    target = build_dir / "database" / db_id / f"{db_id}.sqlite"
    stamp = build_dir / "stamps" / f"{db_id}.sha256"
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(build_dir):
        if target.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
            return target
        try:
            script = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{script_path}: not UTF-8 text ({exc.reason})") from None
        with atomic_path(target, suffix=".building") as tmp:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                # A throwaway file until renamed: no journal, no fsync per statement (the
                # whole file is synced once, before the rename).
                conn.execute("PRAGMA journal_mode = OFF")
                conn.execute("PRAGMA synchronous = OFF")
                run_script(conn, script, str(script_path))
                bad = _fk_violations(conn)
                if bad:
                    raise DataError(f"{script_path}: foreign key violations: {'; '.join(bad[:5])}")
            finally:
                conn.close()
        write_atomic(stamp, digest + "\n")
    return target


def default_build_dir(data_dir: Path) -> Path:
    """`<data_dir>/.build`, or a per-directory cache folder when data_dir is read-only."""
    local = data_dir / BUILD_DIR
    try:
        local.mkdir(exist_ok=True)
        if os.access(local, os.W_OK):
            return local
    except OSError:
        pass
    key = _sha256(str(data_dir.resolve()).encode())[:16]
    return cache_root() / "fixture-build" / key


# ---------------------------------------------------------------------------- schema

_TYPE_WORDS = (
    (("INT", "REAL", "FLOA", "DOUB", "NUM", "DEC"), "number"),
    (("CHAR", "CLOB", "TEXT"), "text"),
    (("DATE", "TIME", "YEAR"), "time"),
    (("BOOL",), "boolean"),
)


def column_type(declared: str) -> str:
    """Spider's coarse column type (text/number/time/boolean/others) of a declared type."""
    upper = (declared or "").upper()
    for words, kind in _TYPE_WORDS:
        if any(w in upper for w in words):
            return kind
    return "others"


def _natural(name: str) -> str:
    return name.replace("_", " ").lower()


def spider_entry(schema: DbSchema, db_id: str) -> dict[str, Any]:
    """A Spider tables.json entry for a database's schema (tables in creation order)."""
    tables = [t.name for t in schema.tables]
    columns: list[list[Any]] = [[-1, "*"]]
    types = ["text"]
    primary: list[int] = []
    index: dict[tuple[str, str], int] = {}
    for t_idx, table in enumerate(schema.tables):
        for column in table.columns:
            index[(table.name.lower(), column.name.lower())] = len(columns)
            columns.append([t_idx, column.name])
            types.append(column_type(column.type))
        primary.extend(index[(table.name.lower(), n.lower())] for n in table.primary_key)
    foreign: list[list[int]] = []
    for fk in schema.foreign_keys:
        src = index.get((fk.table.lower(), fk.column.lower()))
        dst = index.get((fk.ref_table.lower(), fk.ref_column.lower()))
        if src is not None and dst is not None:
            foreign.append([src, dst])
    return {
        "db_id": db_id,
        "table_names_original": tables,
        "table_names": [_natural(t) for t in tables],
        "column_names_original": columns,
        "column_names": [[t, c if t < 0 else _natural(c)] for t, c in columns],
        "column_types": types,
        "primary_keys": primary,
        "foreign_keys": foreign,
    }


def schema_from_context(context: str, db_id: str, source: str) -> dict[str, Any]:
    """Schema entry from CREATE TABLE text, built in memory (nothing touches the disk)."""
    return spider_entry(script_schema(context, source), db_id)


# ---------------------------------------------------------------------------- loader


def load_fixture(
    data_dir: Path | None = None,
    split: str = "dev",
    db_dir: Path | None = None,
    build_dir: Path | None = None,
    **_: object,
) -> BenchmarkData:
    """Load `<data_dir>/<split>.jsonl` (default: the repository's evals/fixture).

    Databases come from `db_dir` (Spider layout: `<db_dir>/<db_id>/<db_id>.sqlite`, several
    `*.sqlite` there = test-suite variants) when given; otherwise each
    `databases/<db_id>.sql` is built into `build_dir` (default `<data_dir>/.build`), and a
    ready `database/<db_id>/<db_id>.sqlite` under data_dir is used as is.
    """
    if data_dir is None:
        data_dir = default_fixture_dir()
        if not data_dir.is_dir():
            raise DataError(
                f"{data_dir}: fixture not found (it ships with the source checkout of "
                "harness; run from a clone or pass --data-dir)"
            )
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: fixture directory not found")
    split_path = data_dir / f"{split}.jsonl"
    records = read_split(split_path)
    data_files = [split_path]

    db_ids = sorted({r["db_id"] for r in records})
    db_root = Path(db_dir) if db_dir is not None else None
    if db_root is not None and not db_root.is_dir():
        raise DataError(f"{db_root}: database directory not found")
    variants: dict[str, tuple[Path, ...]] = {}
    for db_id in db_ids:
        script = data_dir / SCRIPTS_DIR / f"{db_id}.sql"
        if db_root is not None:
            variants[db_id] = database_variants(db_root, db_id)
        elif script.is_file():
            if build_dir is None:
                build_dir = default_build_dir(data_dir)
            Path(build_dir).mkdir(parents=True, exist_ok=True)
            variants[db_id] = (build_database(script, Path(build_dir)),)
            data_files.append(script)
        else:
            variants[db_id] = database_variants(data_dir / "database", db_id)

    contexts: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.get("context", "").strip() and r["db_id"] not in contexts:
            contexts[r["db_id"]] = (r["context"], f"{split_path}:{r['_line']} (context)")

    tables: dict[str, dict[str, Any]] = {}
    for db_id in db_ids:
        if variants[db_id]:
            tables[db_id] = spider_entry(read_db_schema(variants[db_id][0]), db_id)
        elif db_id in contexts:
            text, source = contexts[db_id]
            tables[db_id] = schema_from_context(text, db_id, source)

    examples = [
        Example(
            id=r["id"],
            db_id=r["db_id"],
            question=r["question"],
            gold_sql=r["gold_sql"],
            db_paths=variants[r["db_id"]],
            evidence=r.get("evidence", ""),
            difficulty=r.get("difficulty", ""),
            context=r.get("context", ""),
            extra={k: v for k, v in r.items() if k not in KNOWN_FIELDS},
        )
        for r in records
    ]
    return BenchmarkData(
        name="fixture",
        split=split,
        examples=examples,
        tables=tables,
        data_files=data_files,
        missing_db_ids=sorted(db for db, paths in variants.items() if not paths),
        test_suite=any(len(p) > 1 for p in variants.values()),
    )

"""Random databases with the schema of an original one.

The recipe follows the distilled-test-suite paper's fuzzer (TestSuiteEval, `fuzz/`):
each column draws from a pool (a few of the original column's values plus every gold
literal typed to it) or, with probability `p`, a fresh random value of the column's type;
drawn values are perturbed (numbers by +-1/+-2, strings get affixes or lose a character);
some columns cap their distinct fresh values, forcing duplicates; child keys are drawn
from the parent's generated values; primary-key and UNIQUE violations are removed. Table
sizes are drawn as the paper's code draws them. Everything comes from one seeded
`random.Random`, so the same seed writes the same bytes.

Two departures, both so that fewer databases are lost to ambiguous gold answers (see
distill.py): in half of the tables, and always for a column a gold query groups by
before an ORDER BY ... LIMIT, values follow a staircase (group sizes 1, 2, 3, ..., so
the largest and smallest groups are not tied); a column that a gold query sorts on
under LIMIT gets mostly fresh values and no forced duplicates.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from harness.dbschema import ident
from harness.io import atomic_path
from harness.testsuite.dbinfo import ColumnInfo, ColumnKey, DatabaseInfo, TableInfo

POOL_FROM_DATA = 5  # original values per column pool
ELEMENT_DROPOUT = 0.1
DEFAULT_P = 0.2
ADDITIVE_C, MIN_C, MAX_TABLE_ROWS = 200, 30, 2500
CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789()"
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d-%m-%Y", "%Y")
_DATE_START, _DATE_END = dt.datetime(1800, 1, 1), dt.datetime(2100, 1, 1)

Sampler = Callable[[], object]


def _kind(decl: str, values: list[object]) -> str:
    d = decl.lower()
    if "date" in d or "timestamp" in d or d == "time":
        return "date"
    if "bool" in d or d.startswith("bit"):
        return "bool"
    if "int" in d:
        return "int"
    if any(s in d for s in ("real", "float", "double", "decimal", "numeric", "number")):
        return "real"
    if any(s in d for s in ("char", "text", "clob", "string", "varchar")):
        return "text"
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) for v in present):
        return "int"
    if present and all(isinstance(v, int | float) for v in present):
        return "real"
    return "text"


def _perturb_number(rng: random.Random, x: float, step: float) -> float:
    # The paper's cascade: +1, -1, +2, -2 with falling odds, else unchanged.
    for odds, delta in ((1 / 6, step), (1 / 5, -step), (1 / 4, 2 * step), (1 / 3, -2 * step)):
        if rng.random() < odds:
            return x + delta
    return x


def _rand_string(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(CHARSET) for _ in range(length))


def _contaminate(rng: random.Random, s: str) -> str:
    r = rng.random()
    if r < 0.2:
        return s + _rand_string(rng, 5)
    if r < 0.4:
        return _rand_string(rng, 5) + s
    if r < 0.6:
        return _rand_string(rng, 3) + s + _rand_string(rng, 3)
    if r < 0.8:
        return s[:-1]
    return s[1:]


class _Fresh:
    """Fresh random values, at most `cap` distinct ones (then repeats: forced duplicates)."""

    def __init__(self, rng: random.Random, cap: float, make: Sampler) -> None:
        self.rng, self.cap, self.make, self.seen = rng, cap, make, []

    def __call__(self) -> object:
        if len(self.seen) >= self.cap and self.seen:
            return self.rng.choice(self.seen)
        value = self.make()
        self.seen.append(value)
        return value


def _number_sampler(
    rng: random.Random, pool: list[object], p: float, cap: float, is_int: bool
) -> Sampler:
    numbers: list[float] = []
    for v in pool:
        try:
            numbers.append(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    lo, hi = (min(numbers), max(numbers) + 1) if numbers else (-1e6, 1e6)
    if lo == hi - 1 and not is_int:
        hi = lo + 2

    def fresh() -> float:
        wide = rng.random() < p or len(numbers) <= 1
        a, b = (min(lo, -1e4), max(hi, 1e4)) if wide else (lo, hi)
        return rng.random() * (b - a) + a

    fresh_values = _Fresh(rng, cap, fresh)

    def sample() -> object:
        base = fresh_values() if not numbers or rng.random() < p else rng.choice(numbers)
        if is_int:
            return int(_perturb_number(rng, int(base), 1))
        return round(_perturb_number(rng, float(base), 0.01), 4)

    return sample


def _text_sampler(rng: random.Random, pool: list[object], p: float, cap: float) -> Sampler:
    texts = [str(v) for v in pool]
    for s in list(texts):
        if s.lstrip("-").isdigit():  # numbers stored as text get their neighbours too
            texts += [str(int(s) + 1), str(int(s) - 1)]
    lengths = [len(s) for s in texts] or [0, 20]
    lo, hi = min(lengths), max(lengths) + 1
    fresh_values = _Fresh(rng, cap, lambda: _rand_string(rng, rng.randint(lo, hi)))

    def sample() -> object:
        base = fresh_values() if not texts or rng.random() < p else rng.choice(texts)
        return _contaminate(rng, str(base)) if rng.random() < 0.5 else base

    return sample


def _date_format(values: list[object]) -> str | None:
    for fmt in _DATE_FORMATS:
        hits = 0
        for v in values:
            try:
                dt.datetime.strptime(str(v), fmt)
                hits += 1
            except ValueError:
                pass
        if values and hits == len(values):
            return fmt
    return None


def _date_sampler(rng: random.Random, pool: list[object], p: float, cap: float) -> Sampler:
    fmt = _date_format([v for v in pool if v is not None])
    if fmt is None:  # not parseable as dates: treat as text
        return _text_sampler(rng, pool, p, cap)
    dates = [dt.datetime.strptime(str(v), fmt) for v in pool]
    lo, hi = (min(dates), max(dates)) if len(dates) > 1 else (_DATE_START, _DATE_END)
    if lo == hi:
        lo, hi = _DATE_START, _DATE_END

    def fresh() -> str:
        a, b = (_DATE_START, _DATE_END) if rng.random() < p else (lo, hi)
        seconds = int((b - a).total_seconds())
        return (a + dt.timedelta(seconds=rng.randrange(max(seconds, 1)))).strftime(fmt)

    fresh_values = _Fresh(rng, cap, fresh)
    texts = [str(v) for v in pool]
    return lambda: fresh_values() if not texts or rng.random() < p else rng.choice(texts)


def _bool_sampler(rng: random.Random, pool: list[object]) -> Sampler:
    choices = sorted({v for v in pool if v is not None}, key=repr) or [0, 1]
    if all(isinstance(v, int) for v in choices):
        choices = sorted(set(choices) | {0, 1})
    return lambda: rng.choice(choices)


def column_sampler(
    rng: random.Random,
    column: ColumnInfo,
    original: list[object],
    literals: list[object],
    p: float,
    single_key: bool,
    spread: bool = False,
) -> Sampler:
    """`spread`: mostly fresh values and no forced duplicates (a sort key under LIMIT)."""
    present = [v for v in original if v is not None]
    pool = [rng.choice(present) for _ in range(min(POOL_FROM_DATA, len(present)))]
    pool = [v for v in pool if rng.random() > ELEMENT_DROPOUT] + sorted(set(literals), key=repr)
    p = 0.0 if column.checked and pool else (p if pool else 1.0)
    cap: float = float("inf")
    if spread and not column.checked:
        p = 0.9
    elif rng.random() < 0.5 and not single_key:
        cap = 30 if column.pk_position else rng.random() * 30
    kind = _kind(column.decl_type, present)
    if column.rowid_alias:
        kind = "int"
    if kind in ("int", "real"):
        return _number_sampler(rng, pool, p, cap, is_int=kind == "int")
    if kind == "date":
        return _date_sampler(rng, pool, p, cap)
    if kind == "bool":
        return _bool_sampler(rng, pool)
    return _text_sampler(rng, pool, p, cap)


def table_sizes(rng: random.Random, db: DatabaseInfo) -> dict[str, int]:
    """The paper's two size schemes: independent random sizes, or sizes growing 4x with
    each level of references (capped)."""
    order = db.table_order()
    if rng.random() < 0.5:
        return {t: int(MIN_C * rng.random() + rng.random() * ADDITIVE_C) for t in order}
    levels: dict[str, int] = {}
    parents = db.acyclic_parents()
    for table in order:
        ups = [levels[pt] for (ct, _), (pt, _) in parents.items() if ct == table and pt != table]
        levels[table] = 1 + max(ups) if ups else 0
    base = 1 + MIN_C * rng.random()
    return {t: int(min(base * 4 ** levels[t], MAX_TABLE_ROWS)) for t in order}


def _staircase(rng: random.Random, values: list[object], size: int) -> list[object]:
    """`values` regrouped so that the k-th distinct value (in random order) occurs k times:
    groups differ in size, so neither the largest nor the smallest is tied (a tie under
    ORDER BY count(*) LIMIT 1 makes that query ambiguous). May return fewer than `size`:
    a partial last step could tie an earlier one, and the table is cut to its shortest
    column."""
    distinct = list(dict.fromkeys(values))
    rng.shuffle(distinct)
    out: list[object] = []
    for k, value in enumerate(distinct, 1):
        if len(out) + k > size:
            break
        out += [value] * k
    rng.shuffle(out)
    return out


def _dedupe(rows: list[list[object]], positions: tuple[int, ...]) -> list[list[object]]:
    seen: set[tuple[object, ...]] = set()
    kept = []
    for row in rows:
        key = tuple(row[i] for i in positions)
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
    return kept


def _table_rows(
    rng: random.Random,
    table: TableInfo,
    key: str,
    size: int,
    samplers: dict[ColumnKey, Sampler],
    parents: dict[ColumnKey, ColumnKey],
    generated: dict[ColumnKey, list[object]],
    grouped: frozenset[ColumnKey],
) -> list[list[object]]:
    names = [c.name.lower() for c in table.columns]
    staircase = rng.random() < 0.5
    columns: dict[str, list[object]] = {}
    pending = list(names)
    while pending:  # a column referencing one of its own table's columns comes after it
        progressed = False
        for name in list(pending):
            parent = parents.get((key, name))
            if parent and parent[0] == key and parent[1] in pending and parent[1] != name:
                continue
            if parent and parent != (key, name):
                source = columns.get(parent[1]) if parent[0] == key else generated.get(parent)
                if source:
                    columns[name] = [rng.choice(source) for _ in range(size)]
                    pending.remove(name)
                    progressed = True
                    continue
            columns[name] = [samplers[(key, name)]() for _ in range(size)]
            pending.remove(name)
            progressed = True
        if not progressed:  # a reference cycle inside the table: sample the rest
            for name in pending:
                columns[name] = [samplers[(key, name)]() for _ in range(size)]
            pending = []
    n_rows = min((len(v) for v in columns.values()), default=0)
    rows = [[columns[n][i] for n in names] for i in range(n_rows)]
    pk = tuple(names.index(c.lower()) for c in table.primary_key)
    if pk:
        rows = _dedupe(rows, pk)
    for i, column in enumerate(table.columns):
        if column.unique:
            rows = _dedupe(rows, (i,))
        if column.rowid_alias:
            rows = [r for r in rows if isinstance(r[i], int)]
        if column.notnull:
            rows = [r for r in rows if r[i] is not None]
    for group in table.unique_groups:
        rows = _dedupe(rows, tuple(names.index(c.lower()) for c in group))
    # Staircases last, on the rows that survived the key filters (which would break them);
    # not where the table references itself, since cutting rows would orphan references.
    self_referencing = any(c[0] == key and p[0] == key for c, p in parents.items())
    for i, column in enumerate(table.columns if not self_referencing else ()):
        ck = (key, column.name.lower())
        if column.unique or table.primary_key == (column.name,):
            continue
        if ck in grouped or (staircase and ck in parents and parents[ck] != ck):
            values = _staircase(rng, [r[i] for r in rows], len(rows))
            rows = rows[: len(values)]
            for row, value in zip(rows, values, strict=True):
                row[i] = value
    if pk and len(pk) > 1:
        rows = _dedupe(rows, pk)
    return rows


def fuzz_tables(
    db: DatabaseInfo,
    literals: dict[ColumnKey, list[object]],
    rng: random.Random,
    spread: frozenset[ColumnKey] = frozenset(),
    grouped: frozenset[ColumnKey] = frozenset(),
) -> dict[str, list[list[object]]]:
    """Rows for every table, generated parents first; `spread` columns avoid repeats,
    `grouped` columns get groups of differing sizes."""
    p = 0.0 if rng.random() < 0.3 else DEFAULT_P
    parents = db.acyclic_parents()
    samplers: dict[ColumnKey, Sampler] = {}
    for key, table in db.tables.items():
        single_key = len(table.primary_key) == 1
        for column in table.columns:
            ck = (key, column.name.lower())
            samplers[ck] = column_sampler(
                rng, column, db.values[ck], literals.get(ck, []), p,
                single_key=single_key and column.pk_position == 1, spread=ck in spread,
            )  # fmt: skip
    sizes = table_sizes(rng, db)
    generated: dict[ColumnKey, list[object]] = {}
    out: dict[str, list[list[object]]] = {}
    for key in db.table_order():
        table = db.tables[key]
        rows = _table_rows(rng, table, key, sizes[key], samplers, parents, generated, grouped)
        out[key] = rows
        for i, column in enumerate(table.columns):
            generated[(key, column.name.lower())] = [r[i] for r in rows]
    return out


def write_database(db: DatabaseInfo, rows: dict[str, list[list[object]]], target: Path) -> None:
    """Write a new database file: the original's DDL, then the rows, then its indexes,
    views and triggers. Written beside `target` and renamed, so a crash leaves no half
    file under the final name. Not synced to disk: most candidates are thrown away, and
    distillation syncs the ones it keeps."""
    building = atomic_path(target, durable=False)
    with building as tmp, closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN")
        for sql in db.statements:
            conn.execute(sql)
        for key in db.table_order():
            table = db.tables[key]
            if not rows.get(key):
                continue
            marks = ", ".join("?" for _ in table.columns)
            # OR IGNORE: a CHECK or type constraint the fuzzer could not know drops the row.
            conn.executemany(
                f"INSERT OR IGNORE INTO {ident(table.name)} VALUES ({marks})", rows[key]
            )
        for sql in db.late_statements:
            try:
                conn.execute(sql)
            except sqlite3.Error:
                continue  # e.g. a UNIQUE index the generated rows violate: rows stay
        conn.execute("COMMIT")

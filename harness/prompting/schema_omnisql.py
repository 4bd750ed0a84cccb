"""OmniSQL's schema text (RUCKBReasoning/OmniSQL, train_and_evaluate/process_dataset.py,
`obtain_db_details` in dev mode), byte for byte: one CREATE TABLE per tables.json table with
every column as `name type,` plus `-- comment` (tables.json's natural name, when it says
more than the column name) and `example: [...]` (Python's list repr: values retrieved for
the question first, then the column's first distinct values, deduplicated, at most 6),
then PRIMARY KEY and CONSTRAINT ... FOREIGN KEY lines, tables joined by a blank line.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from harness.dbschema import connect_readonly
from harness.errors import DataError

# process_dataset.py's SQL_RESERVED_WORDS (names that get backticks), verbatim.
_RESERVED_TEXT = """
    IDENTIFIED FOREIGN CONSTRAINT USER POSITION DESCRIBE CHECK RECURSIVE REAL CONTINUE
    GLOBAL RLIKE INSENSITIVE BOOLEAN CHAR ROLE CASE SCHEMA CLOB RESIGNAL ROW DEC TOP EXCEPT
    SENSITIVE OUT RENAME READS BLOB INT EXTERNAL LOCALTIMESTAMP DECLARE DO AS OVER CONDITION
    SELECT SAVEPOINT WITHIN ELSEIF UNLOCK DATABASE TRIGGER ACCESS FALSE BREAK ITERATE
    SMALLINT ASC YEAR DELETE ROLLBACK ON ESCAPE CREATE MONTH SPECIFIC SESSION SQLSTATE HOLD
    SET EXPLAIN RETURN ROWNUM BINARY SYSDATE SQLWARNING EXTEND CAST FOR TERMINATED VIEW
    TRAILING HOUR VARYING RESTRICT RIGHT DISTINCT JOIN UNKNOWN VALUES TABLE OR DOUBLE DROP
    COMMIT PRECISION LANGUAGE START INTERSECT IGNORE NULL CURRENT_DATE LOCK INTO NEW DESC
    STATIC MODIFIES GRANT VALUE LIMIT MODULE DATE LOCALTIME PERCENT REPEAT FULL USAGE ORDER
    WHEN PRIMARY BETWEEN CURSOR DECIMAL HAVING IF FILTER INDEX ILIKE VARCHAR EXEC USING ROWS
    PLACING WHILE EXECUTE EACH LEFT FLOAT COLLATE CURRENT_TIME OPEN RANGE CROSS FUNCTION TIME
    BOTH NOT CONVERT NCHAR KEY DEFAULT LIKE ANALYZE EXISTS IN BIT INOUT SUM NUMERIC AFTER
    LEAVE INSERT TO COUNT THEN BEFORE OUTER COLUMN ONLY END PROCEDURE OFFSET ADD INNER
    RELEASE FROM DAY NO CALL BY LOCAL ZONE TRUE EXIT LEADING INTEGER MERGE OLD AVG MIN SQL
    LOOP SIGNAL REFERENCES MINUTE UNIQUE GENERATED ALL MATCH CASCADE UNION COMMENT FETCH UNDO
    UPDATE WHERE ELSE PARTITION BIGINT CHARACTER CURRENT_TIMESTAMP ALTER INTERVAL REVOKE
    CONNECT WITH TIMESTAMP GROUP BEGIN CURRENT REGEXP NATURAL SOME SQLEXCEPTION MAX SUBSTRING
    OF AND REPLACE IS"""
_RESERVED = frozenset(_RESERVED_TEXT.split())
_SPECIAL = re.compile(r"[^a-zA-Z0-9_]")
_MAX_VALUES = 6
_CELL_CHARS = 40


def ident(name: str) -> str:
    if name.upper() in _RESERVED or _SPECIAL.search(name):
        return f"`{name}`"
    return name


def sample_values(db_path: Path, table_names: Sequence[str], limit: int) -> dict[str, list[Any]]:
    """The first `limit` distinct non-empty values of every column, strings cut to 40
    characters, keyed "table.column" in lower case (sample_table_values)."""
    out: dict[str, list[Any]] = {}
    try:
        # A plain sqlite3 connection's strict decoding (what these texts were built with).
        with closing(connect_readonly(db_path, errors="strict")) as conn:
            for table in table_names:
                columns = [c[1] for c in conn.execute(f"PRAGMA table_info(`{table}`);")]
                for column in columns:
                    # The same query text as upstream, so SQLite picks the same rows.
                    query = f"""
            SELECT `{column}` 
            FROM (
                SELECT DISTINCT `{column}` 
                FROM `{table}` 
                WHERE `{column}` IS NOT NULL and `{column}` != ''
            ) AS unique_values
            LIMIT {limit};
            """  # noqa: W291
                    values = [v[0] for v in conn.execute(query).fetchall()]
                    values = [v[:_CELL_CHARS] if isinstance(v, str) else v for v in values]
                    if values:
                        out[f"{table}.{column}".lower()] = values
    except sqlite3.Error as exc:
        raise DataError(f"{db_path}: cannot sample column values: {exc}") from None
    return out


def _is_pk(column_idx: int, primary_keys: Sequence[Any]) -> bool:
    return any(column_idx == pk if isinstance(pk, int) else column_idx in pk for pk in primary_keys)


def render_omnisql(
    entry: Mapping[str, Any],
    sampled: Mapping[str, list[Any]],
    relevant: Mapping[str, list[Any]] | None = None,
) -> str:
    relevant = relevant or {}
    tables = entry["table_names_original"]
    originals = entry["column_names_original"]
    comments = entry["column_names"]
    types = entry["column_types"]
    if not len(originals) == len(comments) == len(types):
        raise DataError(f"{entry.get('db_id')}: tables.json column lists differ in length")
    blocks = []
    for t_idx, table in enumerate(tables):
        column_lines: list[str] = []
        pk_columns: list[str] = []
        fk_lines: list[str] = []
        for c_idx, ((inner, column), (_, comment), ctype) in enumerate(
            zip(originals, comments, types, strict=True)
        ):
            if inner != t_idx:
                continue
            key = f"{table}.{column}".lower()
            values = list(dict.fromkeys([*relevant.get(key, []), *sampled.get(key, [])]))
            values = values[:_MAX_VALUES]
            lowered = comment.lower()
            same = column.lower() in (lowered, lowered.replace(" ", "_"), lowered.replace(" ", ""))
            if same or comment.strip() == "":
                line = f"    {ident(column)} {ctype},"
                if values:
                    line += f" -- example: {values}"
            else:
                line = f"    {ident(column)} {ctype}, -- {comment}"
                if values:
                    line += f", example: {values}"
            column_lines.append(line)
            if _is_pk(c_idx, entry["primary_keys"]):
                pk_columns.append(column)
            for source, target in entry["foreign_keys"]:
                if c_idx != source:
                    continue
                s_name = tables[originals[source][0]]
                s_col = originals[source][1]
                t_name = tables[originals[target][0]]
                t_col = originals[target][1]
                fk_lines.append(
                    f"    CONSTRAINT fk_{s_name.lower().replace(' ', '_')}_"
                    f"{s_col.lower().replace(' ', '_')} FOREIGN KEY ({ident(s_col)}) "
                    f"REFERENCES {ident(t_name)} ({ident(t_col)}),"
                )
        if not column_lines:
            continue
        pk_columns = list(dict.fromkeys(pk_columns))
        pk_lines = (
            ["    PRIMARY KEY (" + ", ".join(ident(c) for c in pk_columns) + "),"]
            if pk_columns
            else []
        )
        body = "\n".join(column_lines + pk_lines + list(dict.fromkeys(fk_lines)))
        ddl = f"CREATE TABLE {ident(table)} (\n" + body
        blocks.append(ddl.removesuffix(",") + "\n);")
    return "\n\n".join(blocks)

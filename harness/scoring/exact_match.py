"""Spider exact set match (EM) and hardness, with the official evaluator's semantics.

Follows taoyds/test-suite-sql-eval (evaluation.py at e97acc5) on the structure that
``spider_sql`` builds from sqlglot's tree:

- values are disabled: every condition value that is not a subquery becomes None (join
  conditions included); DISTINCT is disabled on the rebuilt parts;
- foreign-key columns are unified through the tables.json key map, but only columns of
  the tables in the top query's FROM, and only in the parts the official rebuild visits
  (not inside WHERE/HAVING subqueries, nor FROM subqueries, which keep their values);
- every partial component must have F1 = 1, then the sorted FROM table units must match.

Hardness is computed on the gold structure before that rebuild, counting what the
official evaluator counts (including its quirks, noted where they happen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.scoring.spider.sql import parse_spider
from harness.scoring.spider.structure import (
    WHERE_OPS,
    SpiderSchema,
    UnsupportedSQL,
    empty_sql,
    spider_schema,
)

__all__ = [
    "PARTIAL_COMPONENTS",
    "EMResult",
    "SpiderSchema",
    "UnsupportedSQL",
    "exact_match",
    "foreign_key_map",
    "hardness",
    "spider_schema",
]

PARTIAL_COMPONENTS = (
    "select",
    "select(no AGG)",
    "where",
    "where(no OP)",
    "group(no Having)",
    "group",
    "order",
    "and/or",
    "IUEN",
    "keywords",
)
_LIKE = WHERE_OPS.index("like")
_IN = WHERE_OPS.index("in")


@dataclass
class EMResult:
    em: bool
    pred_parsed: bool
    components: dict[str, bool] = field(default_factory=dict)
    parse_error: str | None = None


def foreign_key_map(tables_entry: dict) -> dict[str, str]:
    """Map each foreign-key column id ("__table.col__") to its group's representative.

    Groups are built as the official build_foreign_key_map does: each key pair joins the
    first group already holding either column (groups are never merged), and the
    representative is the group's lowest column index.
    """
    tables = tables_entry["table_names_original"]
    col_ids = [
        f"__{tables[t].lower()}.{c.lower()}__" if t >= 0 else "__all__"
        for t, c in tables_entry["column_names_original"]
    ]
    groups: list[set[int]] = []
    for a, b in tables_entry["foreign_keys"]:
        group = next((g for g in groups if a in g or b in g), None)
        if group is None:
            group = set()
            groups.append(group)
        group.update((a, b))
    kmap: dict[str, str] = {}
    for group in groups:
        members = sorted(group)
        for idx in members:
            kmap[col_ids[idx]] = col_ids[members[0]]
    return kmap


# ---- hardness ---------------------------------------------------------------------------
def hardness(gold_sql: str, schema: SpiderSchema) -> str:
    """easy / medium / hard / extra; raises UnsupportedSQL if the official grammar cannot
    parse the query (the official evaluator would stop there)."""
    return hardness_of(parse_spider(gold_sql, schema))


def hardness_of(sql: dict) -> str:
    comp1, comp2, others = _count_component1(sql), len(_nested(sql)), _count_others(sql)
    if comp1 <= 1 and others == 0 and comp2 == 0:
        return "easy"
    if (others <= 2 and comp1 <= 1 and comp2 == 0) or (comp1 <= 2 and others < 2 and comp2 == 0):
        return "medium"
    if (
        (others > 2 and comp1 <= 2 and comp2 == 0)
        or (2 < comp1 <= 3 and others <= 2 and comp2 == 0)
        or (comp1 <= 1 and others == 0 and comp2 <= 1)
    ):
        return "hard"
    return "extra"


def _conds(condition: list) -> list:
    return condition[::2]


def _connectors(condition: list) -> list:
    return condition[1::2]


def _all_conds(sql: dict) -> list:
    return _conds(sql["from"]["conds"]) + _conds(sql["where"]) + _conds(sql["having"])


def _all_connectors(sql: dict) -> list:
    return (
        _connectors(sql["from"]["conds"]) + _connectors(sql["where"]) + _connectors(sql["having"])
    )


def _count_component1(sql: dict) -> int:
    count = sum(bool(sql[k]) for k in ("where", "groupBy", "orderBy"))
    count += sql["limit"] is not None
    count += max(len(sql["from"]["table_units"]) - 1, 0)  # joins
    count += _all_connectors(sql).count("or")
    count += sum(unit[1] == _LIKE for unit in _all_conds(sql))
    return count


def _nested(sql: dict) -> list[dict]:
    """Subqueries in condition values plus the set-operation parts (not FROM subqueries)."""
    out = [v for unit in _all_conds(sql) for v in unit[3:5] if isinstance(v, dict)]
    out += [sql[op] for op in ("intersect", "except", "union") if sql[op] is not None]
    return out


def _has_agg(unit: Any) -> bool:
    # The official test is unit[0] != 0 on whatever it is given: for a cond_unit that is
    # its NOT flag, and for an "and"/"or" string (HAVING is passed whole) the letter "a"/"o".
    return unit[0] != 0


def _count_others(sql: dict) -> int:
    aggs = sum(_has_agg(u) for u in sql["select"][1])
    aggs += sum(_has_agg(u) for u in _conds(sql["where"]))
    aggs += sum(_has_agg(u) for u in sql["groupBy"])
    if sql["orderBy"]:
        val_units = sql["orderBy"][1]
        cols = [v[1] for v in val_units if v[1]] + [v[2] for v in val_units if v[2]]
        aggs += sum(_has_agg(c) for c in cols)
    aggs += sum(_has_agg(u) for u in sql["having"])
    count = int(aggs > 1)
    count += len(sql["select"][1]) > 1
    count += len(sql["where"]) > 1
    count += len(sql["groupBy"]) > 1
    return count


# ---- the official rebuild: values and DISTINCT off, foreign keys unified ----------------
def _without_values(sql: dict | None) -> dict | None:
    if sql is None:
        return None

    def cond(condition: list) -> list:
        return [
            (u[0], u[1], u[2], _value_off(u[3]), _value_off(u[4])) if i % 2 == 0 else u
            for i, u in enumerate(condition)
        ]

    out = dict(sql)
    out["from"] = {"table_units": sql["from"]["table_units"], "conds": cond(sql["from"]["conds"])}
    out["where"] = cond(sql["where"])
    out["having"] = cond(sql["having"])
    for op in ("intersect", "except", "union"):
        out[op] = _without_values(sql[op])
    return out


def _value_off(value: Any) -> Any:
    return _without_values(value) if isinstance(value, dict) else None


def _valid_col_units(table_units: list, schema: SpiderSchema) -> set[str]:
    tables = {unit[1][2:-2] for unit in table_units if unit[0] == "table_unit"}
    return {f"__{t}.{c}__" for t in tables if t in schema.tables for c in schema.tables[t]}


class _Unifier:
    def __init__(self, valid: set[str], kmap: dict[str, str]) -> None:
        self.valid, self.kmap = valid, kmap

    def col(self, unit: tuple | None) -> tuple | None:
        if unit is None:
            return None
        agg, col_id, _distinct = unit
        if col_id in self.kmap and col_id in self.valid:
            col_id = self.kmap[col_id]
        return (agg, col_id, None)

    def val(self, unit: tuple | None) -> tuple | None:
        if unit is None:
            return None
        return (unit[0], self.col(unit[1]), self.col(unit[2]))

    def cond(self, condition: list) -> list:
        # Only the left-hand val_unit: subquery values are compared as they are.
        return [
            (u[0], u[1], self.val(u[2]), u[3], u[4]) if i % 2 == 0 else u
            for i, u in enumerate(condition)
        ]

    def sql(self, sql: dict | None) -> dict | None:
        if sql is None:
            return None
        out = dict(sql)
        out["select"] = (None, [(agg, self.val(v)) for agg, v in sql["select"][1]])
        out["from"] = {
            "table_units": sql["from"]["table_units"],
            "conds": self.cond(sql["from"]["conds"]),
        }
        out["where"] = self.cond(sql["where"])
        out["groupBy"] = [self.col(u) for u in sql["groupBy"]]
        order = sql["orderBy"]
        out["orderBy"] = (order[0], [self.val(v) for v in order[1]]) if order else order
        out["having"] = self.cond(sql["having"])
        for op in ("intersect", "except", "union"):
            # The set-operation parts reuse the top query's FROM tables for the key map.
            out[op] = self.sql(sql[op])
        return out


def _rebuild(sql: dict, schema: SpiderSchema, kmap: dict[str, str]) -> dict:
    valid = _valid_col_units(sql["from"]["table_units"], schema)
    return _Unifier(valid, kmap).sql(_without_values(sql))  # type: ignore[return-value]


# ---- partial components -----------------------------------------------------------------
def _score(count: int, pred_total: int, label_total: int) -> bool:
    return pred_total == label_total and count == pred_total


def _multiset_hits(pred: list, label: list) -> int:
    remaining = list(label)
    hits = 0
    for item in pred:
        if item in remaining:
            hits += 1
            remaining.remove(item)
    return hits


def _eval_select(pred: dict, label: dict) -> tuple[bool, bool]:
    p, g = pred["select"][1], label["select"][1]
    full = _score(_multiset_hits(p, g), len(p), len(g))
    no_agg = _score(_multiset_hits([u[1] for u in p], [u[1] for u in g]), len(p), len(g))
    return full, no_agg


def _eval_where(pred: dict, label: dict) -> tuple[bool, bool]:
    p, g = _conds(pred["where"]), _conds(label["where"])
    full = _score(_multiset_hits(p, g), len(p), len(g))
    no_op = _score(_multiset_hits([u[2] for u in p], [u[2] for u in g]), len(p), len(g))
    return full, no_op


def _strip_table(col_id: str) -> str:
    return col_id.split(".")[1] if "." in col_id else col_id


def _eval_group(pred: dict, label: dict) -> bool:
    # Column names only: "__t1.name__" and "__t2.name__" both become "name__".
    p = [_strip_table(u[1]) for u in pred["groupBy"]]
    g = [_strip_table(u[1]) for u in label["groupBy"]]
    return _score(_multiset_hits(p, g), len(p), len(g))


def _eval_having(pred: dict, label: dict) -> bool:
    p_total, g_total = int(bool(pred["groupBy"])), int(bool(label["groupBy"]))
    same = (
        p_total == g_total == 1
        and [u[1] for u in pred["groupBy"]] == [u[1] for u in label["groupBy"]]
        and pred["having"] == label["having"]
    )
    return _score(int(same), p_total, g_total)


def _eval_order(pred: dict, label: dict) -> bool:
    p_total, g_total = int(bool(pred["orderBy"])), int(bool(label["orderBy"]))
    same = (
        bool(label["orderBy"])
        and pred["orderBy"] == label["orderBy"]
        and (pred["limit"] is None) == (label["limit"] is None)
    )
    return _score(int(same), p_total, g_total)


def _eval_and_or(pred: dict, label: dict) -> bool:
    return set(_connectors(pred["where"])) == set(_connectors(label["where"]))


def _eval_iuen(pred: dict, label: dict) -> bool:
    p_total = g_total = hits = 0
    for op in ("intersect", "except", "union"):
        p, g = pred[op], label[op]
        p_total += p is not None
        g_total += g is not None
        if p is not None and g is not None:
            hits += _match(p, g)[0]
    return _score(hits, p_total, g_total)


def _keywords(sql: dict) -> set[str]:
    out = set()
    for key, word in (("where", "where"), ("groupBy", "group"), ("having", "having")):
        if sql[key]:
            out.add(word)
    if sql["orderBy"]:
        out.update((sql["orderBy"][0], "order"))
    for key in ("limit", "except", "union", "intersect"):
        if sql[key] is not None:
            out.add(key)
    if "or" in _all_connectors(sql):
        out.add("or")
    conds = _all_conds(sql)
    if any(u[0] for u in conds):
        out.add("not")
    if any(u[1] == _IN for u in conds):
        out.add("in")
    if any(u[1] == _LIKE for u in conds):
        out.add("like")
    return out


def _match(pred: dict, label: dict) -> tuple[bool, dict[str, bool]]:
    """The official eval_exact_match on two rebuilt structures."""
    sel, sel_no_agg = _eval_select(pred, label)
    where, where_no_op = _eval_where(pred, label)
    components = {
        "select": sel,
        "select(no AGG)": sel_no_agg,
        "where": where,
        "where(no OP)": where_no_op,
        "group(no Having)": _eval_group(pred, label),
        "group": _eval_having(pred, label),
        "order": _eval_order(pred, label),
        "and/or": _eval_and_or(pred, label),
        "IUEN": _eval_iuen(pred, label),
        "keywords": _keywords(pred) == _keywords(label),
    }
    label_units = label["from"]["table_units"]
    tables = not label_units or _same_units(pred["from"]["table_units"], label_units)
    components["tables"] = tables
    return all(components.values()), components


def _same_units(pred: list, label: list) -> bool:
    # The official compares sorted lists; multiset equality is the same test and also
    # works when two FROM subqueries (dicts, which Python cannot order) are present.
    return len(pred) == len(label) and _multiset_hits(pred, label) == len(label)


def exact_match(
    pred_sql: str, gold_sql: str, schema: SpiderSchema, kmap: dict[str, str]
) -> EMResult:
    """Official exact set match of a prediction (already preprocessed as the official
    evaluator does: see official_compat.official_prediction) against the gold query.

    Raises UnsupportedSQL when the *gold* cannot be parsed by the official grammar.
    """
    gold = parse_spider(gold_sql, schema)
    parse_error = None
    try:
        pred = parse_spider(pred_sql, schema)
    except UnsupportedSQL as exc:
        pred, parse_error = empty_sql(), str(exc)
    em, components = _match(_rebuild(pred, schema, kmap), _rebuild(gold, schema, kmap))
    return EMResult(
        em=em, pred_parsed=parse_error is None, components=components, parse_error=parse_error
    )

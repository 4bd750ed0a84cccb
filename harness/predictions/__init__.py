"""Read a predictions file and join it to a benchmark by example id, never by position.

Two formats: the official one (one SQL per line in split order, text after a TAB
ignored) and JSONL objects with at least "id" and "sql" (what `harness generate` writes).
A sampled JSONL file (`--samples N`) has one line per (id, "sample": 0..N-1); every id
then needs all N samples, and an outage in any of them leaves the id unscored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import PredictionsError
from harness.io import jsonl_objects
from harness.records import BenchmarkData, Example, PredictionSet
from harness.registry import Registry

_SHOW = 10


class SampleCollector:
    """Gathers the lines of a sampled predictions file (those carrying "sample") and checks
    that each id has samples 0..N-1 once, with one N for the whole file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sql: dict[str, dict[int, str]] = {}
        self.line: dict[tuple[str, int], int] = {}
        self.outage: set[str] = set()
        self.unsampled_line: int | None = None

    def sample_of(self, obj: dict, lineno: int) -> int | None:
        """The line's sample index (None for an unsampled line); a file mixing the two, or
        an index that is not a non-negative integer, is refused."""
        if "sample" not in obj:
            if self.line:
                raise PredictionsError(
                    f"{self.path}:{lineno}: no 'sample' field, but earlier lines carry one"
                )
            self.unsampled_line = self.unsampled_line or lineno
            return None
        k = obj["sample"]
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise PredictionsError(f"{self.path}:{lineno}: 'sample' must be an integer >= 0")
        if self.unsampled_line is not None:
            raise PredictionsError(
                f"{self.path}:{lineno}: a 'sample' field, but line {self.unsampled_line} has none"
            )
        return k

    def add(self, pid: str, sample: int, obj: dict, lineno: int, preds: PredictionSet) -> None:
        first = self.line.get((pid, sample))
        if first is not None:
            raise PredictionsError(
                f"{self.path}:{lineno}: duplicate id {pid!r} sample {sample} (first on line "
                f"{first})"
            )
        self.line[(pid, sample)] = lineno
        if obj.get("outage"):
            self.outage.add(pid)
            return
        self.sql.setdefault(pid, {})[sample] = line_sql(obj, self.path, lineno, pid)
        meta = line_meta(obj)
        if meta:
            total = preds.meta.setdefault(pid, {})
            for key, value in meta.items():
                if isinstance(value, (int, float)):
                    total[key] = total.get(key, 0) + value  # type: ignore[operator]
                else:
                    total.setdefault(key, value)

    def finish(self, preds: PredictionSet) -> None:
        if not self.line:
            return
        n = 1 + max(k for _, k in self.line)
        for pid in sorted({p for p, _ in self.line}, key=lambda s: (len(s), s)):
            have = sorted(k for p, k in self.line if p == pid)
            if have != list(range(n)):
                raise PredictionsError(
                    f"{self.path}: id {pid!r} has samples {have[:8]}; every id needs samples "
                    f"0..{n - 1} (rerun the generation to finish them)"
                )
            if pid in self.outage:
                preds.outage_ids.append(pid)
                preds.meta.pop(pid, None)
                continue
            by_k = self.sql[pid]
            preds.samples[pid] = [by_k[k] for k in range(n)]
            preds.sql[pid] = by_k[0]


def _looks_like_jsonl(path: Path, first_line: str) -> bool:
    if path.suffix == ".jsonl":
        return True
    stripped = first_line.strip()
    return stripped.startswith("{") and stripped.endswith("}")


def _id_list(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOW])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > _SHOW else "")


def prediction_text(line: str) -> str:
    """What the official evaluator reads from one line of its prediction file."""
    return line.strip().split("\t")[0]


def read_text(path: Path) -> str:
    """A predictions file's text; a missing or non-UTF-8 file is a PredictionsError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictionsError(f"{path}: predictions file not found") from None
    except UnicodeDecodeError as exc:
        raise PredictionsError(f"{path}: not UTF-8 text ({exc.reason})") from None


def read_predictions(
    path: Path, examples: list[Example], *, limit: int | None = None, allow_missing: bool = False
) -> PredictionSet:
    """Predictions for `examples` (the whole split), of which the first `limit` are in scope.

    Official lines must number either the split's examples or exactly `limit`; JSONL ids may
    come in any order and may cover the split beyond `limit` (those lines are not scored).
    """
    path = Path(path)
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it is not a blank line
    first = next((line for line in lines if line.strip()), "")
    if _looks_like_jsonl(path, first):
        preds = _read_jsonl(path, lines)
    else:
        in_scope = examples[:limit] if limit and len(lines) == limit else examples
        preds = _read_lines(path, lines, in_scope)
    return join_to_split(path, preds, examples, limit=limit, allow_missing=allow_missing)


def _read_lines(path: Path, lines: list[str], examples: list[Example]) -> PredictionSet:
    if len(lines) != len(examples):
        ids = [e.id for e in examples]
        if len(lines) < len(examples):
            detail = f"ids without a prediction: {_id_list(ids[len(lines) :])}"
        else:
            detail = f"{len(lines) - len(examples)} extra line(s) after the last example"
        raise PredictionsError(
            f"{path}: {len(lines)} prediction lines for {len(examples)} examples "
            f"(the official format is one line per example in split order); {detail}"
        )
    # A blank line is an empty prediction (scored wrong), not a separator; text after a
    # TAB is metadata (the official gold format's db_id), not part of the query.
    return PredictionSet(
        sql={e.id: prediction_text(line) for e, line in zip(examples, lines, strict=True)},
        fmt="official-lines",
    )


def _read_jsonl(path: Path, lines: list[str]) -> PredictionSet:
    preds = PredictionSet(sql={})
    seen_line: dict[str, int] = {}
    sampled = SampleCollector(path)
    # A torn final line (a run killed mid-write) is not a prediction.
    for lineno, obj in jsonl_objects(lines, path, PredictionsError, skip_torn_last=True):
        if "id" not in obj:
            raise PredictionsError(f"{path}:{lineno}: missing field 'id'")
        pid = str(obj["id"])
        sample = sampled.sample_of(obj, lineno)
        if sample is not None:
            sampled.add(pid, sample, obj, lineno, preds)
            continue
        sql = None if obj.get("outage") else line_sql(obj, path, lineno, pid)
        if pid in seen_line:
            raise PredictionsError(
                f"{path}:{lineno}: duplicate id {pid!r} (first on line {seen_line[pid]})"
            )
        seen_line[pid] = lineno
        take_line(preds, pid, obj, sql)
    sampled.finish(preds)
    return preds


def take_line(preds: PredictionSet, target: str, obj: dict, sql: str | None) -> None:
    """Record one unsampled JSONL line as example `target`'s prediction, or (`sql` None)
    its outage."""
    if sql is None:
        preds.outage_ids.append(target)
        return
    preds.sql[target] = sql
    meta = line_meta(obj)
    if meta:
        preds.meta[target] = meta


def line_sql(obj: dict, path: Path, lineno: int, pid: str) -> str:
    """The predicted SQL of one JSONL object (field "sql"; "pred"/"prediction" also read)."""
    sql = obj.get("sql", obj.get("pred", obj.get("prediction")))
    if sql is None:
        raise PredictionsError(f"{path}:{lineno}: missing field 'sql' (id {pid})")
    if not isinstance(sql, str):
        raise PredictionsError(f"{path}:{lineno}: field 'sql' must be a string (id {pid})")
    return sql


META_FIELDS = ("latency_s", "tokens_in", "tokens_out", "cost_usd", "route")


def line_meta(obj: dict) -> dict[str, object]:
    """The generation figures a predictions.jsonl line carries (for cost and throughput)."""
    return {k: obj[k] for k in META_FIELDS if obj.get(k) is not None}


def join_to_split(
    path: Path,
    preds: PredictionSet,
    examples: list[Example],
    *,
    limit: int | None = None,
    allow_missing: bool = False,
) -> PredictionSet:
    """Keep the predictions of the split's first `limit` examples and check that each has one.

    An id outside the split is always an error. A question in scope without a line is an
    error naming it, unless `allow_missing`: then it is listed in `missing_ids` and the
    scorer leaves it out of a partial score. Never an empty prediction in its place (BIRD
    scores "" correct whenever the gold returns no rows).
    """
    wanted = {e.id for e in examples}
    have = set(preds.sql) | set(preds.outage_ids)
    extra = sorted(have - wanted, key=lambda s: (len(s), s))
    scope = examples[:limit] if limit else examples
    missing = [e.id for e in scope if e.id not in have]
    # (A short official-lines file never gets here: its lines pair by position, so
    # _read_lines refuses it before anyone can say which questions it lacks.)
    if extra or (missing and not allow_missing):
        parts = []
        if missing:
            parts.append(f"{len(missing)} id(s) missing: {_id_list(missing)}")
        if extra:
            parts.append(f"{len(extra)} id(s) not in the benchmark: {_id_list(extra)}")
        hint = (
            " (pass --allow-missing-predictions to score the rest as a partial score)"
            if missing and not extra
            else ""
        )
        raise PredictionsError(
            f"{path}: predictions do not match the benchmark; " + "; ".join(parts) + hint
        )
    in_scope = {e.id for e in scope}
    return PredictionSet(
        sql={k: v for k, v in preds.sql.items() if k in in_scope},
        outage_ids=[i for i in preds.outage_ids if i in in_scope],
        fmt=preds.fmt,
        meta={k: v for k, v in preds.meta.items() if k in in_scope},
        samples={k: v for k, v in preds.samples.items() if k in in_scope},
        missing_ids=missing,
    )


Reader = Callable[..., PredictionSet]

# Benchmarks whose predictions files are not Spider's (official lines or JSONL by id).
READERS: Registry[Reader] = Registry(
    "predictions reader",
    {"bird": "harness.predictions.bird:read_bird_predictions"},
    callable,
    "a reader function",
)


def read_for_benchmark(
    data: BenchmarkData, path: Path, *, limit: int | None = None, allow_missing: bool = False
) -> PredictionSet:
    """`path` read in the format of `data`'s benchmark and joined to the whole split, of
    which the first `limit` are in scope."""
    if data.name in READERS:
        return READERS.get(data.name)(path, data, limit=limit, allow_missing=allow_missing)
    return read_predictions(path, data.examples, limit=limit, allow_missing=allow_missing)

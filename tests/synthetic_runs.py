"""Spider-dev-sized synthetic run folders (1,034 questions x N runs) for scale checks.

Correctness is drawn from a latent per-question difficulty and a per-run skill, so runs
agree and disagree the way real ones do; question text, SQL and mismatch details have
realistic lengths. Summaries come from the real bootstrap, so `harness leaderboard`'s
consistency checks pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.stats import bootstrap_ci
from tests.runs_factory import default_config, sha, write_config

LEVELS = ("easy", "medium", "hard", "extra")
LABELS = ("wrong_rows", "missing_join", "wrong_aggregation", "syntax_error", "wrong_columns")
WORDS = tuple(
    [
        "singer",
        "concert",
        "stadium",
        "capacity",
        "average",
        "name",
        "country",
        "year",
        "song",
        "age",
        "show",
        "list",
        "count",
        "people",
        "pets",
        "student",
        "dogs",
        "owners",
        "flight",
        "airline",
        "airport",
        "city",
        "employee",
        "shop",
        "museum",
    ]
)


def make_runs(
    root: Path, n_runs: int = 20, n_questions: int = 1034, seed: int = 0, resamples: int = 1000
) -> list[Path]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    difficulty = rng.normal(0, 1.2, n_questions)
    levels = [LEVELS[min(3, int((d + 2.4) / 1.2))] if d > -2.4 else "easy" for d in difficulty]
    dbs = [f"db_{k % 20:02d}" for k in range(n_questions)]
    questions = [
        " ".join(rng.choice(WORDS, size=int(rng.integers(8, 18)))).capitalize() + "?"
        for _ in range(n_questions)
    ]
    gold = [
        f"SELECT T1.{rng.choice(WORDS)} FROM {dbs[k]}_t AS T1 JOIN other AS T2 ON T1.id = "
        f"T2.id WHERE T2.{rng.choice(WORDS)} > {int(rng.integers(0, 100))}"
        for k in range(n_questions)
    ]
    paths = []
    for r in range(n_runs):
        skill = 0.2 + 1.6 * r / max(1, n_runs - 1)
        p = 1 / (1 + np.exp(difficulty - skill))
        ex = (rng.random(n_questions) < p).astype(int)
        name = f"model-{r:02d}-{'7b' if r % 2 else 'instruct'}"
        run = root / name
        run.mkdir()
        rows = []
        for k in range(n_questions):
            wrong = not ex[k]
            rows.append(
                {
                    "id": str(k),
                    "db_id": dbs[k],
                    "hardness": levels[k],
                    "pred_sql": gold[k] if not wrong else gold[k].replace(">", "<") + f" -- {r}",
                    "gold_sql": gold[k],
                    "ex": int(ex[k]),
                    "em": None,
                    "ts": None,
                    "error": None,
                    "mismatch": {"gold_rows": 3, "pred_rows": int(rng.integers(0, 9))}
                    if wrong
                    else None,
                    "failure": str(rng.choice(LABELS)) if wrong else None,
                }
            )
        with (run / "rows.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        with (run / "predictions.jsonl").open("w", encoding="utf-8") as fh:
            for k in range(n_questions):
                fh.write(json.dumps({"id": str(k), "question": questions[k]}) + "\n")
        by_level = {}
        for level in LEVELS:
            values = [int(ex[k]) for k in range(n_questions) if levels[k] == level]
            if values:
                ci = bootstrap_ci(values, resamples=resamples).as_dict()
                by_level[level] = {"n": len(values), "ex": ci}
        files = {"dev.json": sha("dev"), "tables.json": sha("tables")}
        databases = {db: sha(db) for db in sorted(set(dbs))}
        summary = {
            "schema_version": 1,
            "harness_version": "0.1.0",
            "harness_commit": "0123456789abcdef0123456789abcdef01234567",
            "dirty": False,
            "benchmark": "spider",
            "split": "dev",
            "n": n_questions,
            "n_total": n_questions,
            "excluded": {"count": 0, "reasons": {}, "db_ids": [], "ids": []},
            "complete": True,
            "metrics": {"ex": bootstrap_ci(ex.tolist(), resamples=resamples).as_dict()},
            "by_hardness": by_level,
            "bootstrap": {"resamples": resamples, "seed": 0, "confidence": 0.95},
            "scorer": {"name": "native", "semantics": "spider-test-suite"},
            "data": {
                "files": files,
                "databases": databases,
                "sha256": sha(json.dumps([sorted(files.items()), sorted(databases.items())])),
            },
        }
        (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        config = default_config(name=name)
        config["model"]["params"] = int(1e9 * (0.5 + r))
        write_config(run / "config.toml", config)
        paths.append(run)
    return paths

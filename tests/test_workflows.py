"""The CI workflows, checked offline: GitHub's workflow schema, zizmor's audit, and the
properties that keep a fork's pull request from reaching a token that can write."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.diffing.render import COMMENT_MARKER

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
BUILD = WORKFLOWS / "leaderboard.yml"
COMMENT = WORKFLOWS / "leaderboard-comment.yml"
FILES = [BUILD, COMMENT]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the workflows")


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install the dev extra)")
    return found


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_matches_github_workflow_schema(path):
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_finds_nothing_at_medium_or_above(persona):
    result = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--persona",
            persona,
            "--min-severity",
            "medium",
            *map(str, FILES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_inherent_workflow_run_warning_is_ignored():
    # workflow_run is what makes commenting on fork PRs possible; zizmor always flags it.
    # Any other suppression would have to be argued for here.
    ignores = [
        (path.name, line.strip())
        for path in FILES
        for line in path.read_text().splitlines()
        if "zizmor: ignore" in line
    ]
    assert len(ignores) == 1
    name, line = ignores[0]
    assert name == COMMENT.name
    assert line.startswith("workflow_run:") and "ignore[dangerous-triggers]" in line


def test_every_action_is_pinned_by_full_commit_sha():
    for path in FILES:
        for line in path.read_text().splitlines():
            if "uses:" in line:
                ref = line.split("uses:", 1)[1].strip()
                assert PINNED.match(ref), f"{path.name}: {ref}"


def test_pull_request_code_never_meets_a_write_token():
    build, comment = _load(BUILD), _load(COMMENT)
    assert build["permissions"] == {} and comment["permissions"] == {}
    assert "pull_request_target" not in build["on"]
    assert "pull_request" in build["on"]
    build_job = build["jobs"]["build"]
    assert build_job["permissions"] == {"contents": "read"}
    # The job that writes to main only runs on pushes to main.
    publish = build["jobs"]["publish"]
    assert "github.event_name == 'push'" in publish["if"]
    assert publish["permissions"] == {"contents": "write"}
    for _, _, step in _steps(build):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    # The privileged side checks out nothing and runs nothing it downloaded.
    assert list(comment["on"]) == ["workflow_run"]
    assert comment["on"]["workflow_run"]["workflows"] == [build["name"]]
    for _, job, step in _steps(comment):
        assert "checkout" not in step.get("uses", "")
        assert set(job["permissions"]) == {"actions", "pull-requests"}
        run = step.get("run", "")
        assert "${{" not in run  # event data reaches the shell only through env
        assert not re.search(r"(bash|sh|source|python\S*|\.)\s+\"?\$dir", run)
    job = comment["jobs"]["comment"]
    assert "github.event.workflow_run.event == 'pull_request'" in job["if"]


def test_artifact_and_marker_agree_between_the_two_workflows():
    build_text, comment_text = BUILD.read_text(), COMMENT.read_text()
    uploads = {
        step["with"]["name"]
        for _, _, step in _steps(_load(BUILD))
        if step.get("uses", "").startswith("actions/upload-artifact@")
    }
    downloads = {
        step["with"]["name"]
        for _, _, step in _steps(_load(COMMENT))
        if step.get("uses", "").startswith("actions/download-artifact@")
    }
    assert downloads == {"leaderboard-diff"} <= uploads
    assert f"marker='{COMMENT_MARKER}'" in comment_text
    for name in ("diff.md", "pr-number"):
        assert name in build_text and name in comment_text
    assert "harness diff" in build_text


def test_makefile_provides_the_target_the_workflow_calls():
    makefile = REPO / "Makefile"
    if not makefile.is_file():
        pytest.skip("no Makefile yet")
    assert re.search(r"make leaderboard .*LEADERBOARD_DIR=", BUILD.read_text())
    assert re.search(r"^leaderboard\s*:", makefile.read_text(), re.MULTILINE), (
        "the workflow runs `make leaderboard LEADERBOARD_DIR=...`; the Makefile has no such target"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_run_blocks_are_valid_bash(path, tmp_path):
    for job_name, _, step in _steps(_load(path)):
        if "run" not in step:
            continue
        script = tmp_path / "step.sh"
        script.write_text(step["run"])
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path.name} {job_name} {step.get('name')}: {result.stderr}"


def test_pull_request_comment_carries_the_gate_and_a_failing_gate_fails_the_job():
    from harness.gate import load_gates, run_gates

    build = _load(BUILD)
    steps = [step for job_name, _job, step in _steps(build) if job_name == "build"]
    names = [s.get("name", "") for s in steps]
    diff_step = steps[names.index("Diff against the base branch")]
    assert "harness gate evals/gates.toml" in diff_step["run"]
    assert 'cat "$out/gate.md"; } >> "$out/diff.md"' in diff_step["run"]
    enforce = names.index("Enforce the gate")
    uploads = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload")]
    assert uploads and enforce > max(uploads)  # the comment still gets the reason
    comment_if = _load(COMMENT)["jobs"]["comment"]["if"]
    assert "'failure'" in comment_if and "'success'" in comment_if
    # The committed gates hold on the committed fixture leaderboard.
    assert load_gates(REPO / "evals" / "gates.toml")
    committed = REPO / "leaderboard" / "leaderboard.json"
    if committed.is_file():
        assert run_gates(REPO / "evals" / "gates.toml", committed).decision == "ship"

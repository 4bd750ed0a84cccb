"""`harness prepare`: archives built here, served by a loopback HTTP server (plain HTTP with
Range, and the Hugging Face resolve protocol), a local mirror folder and a local git repo."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.prepare.errors import (
    ChecksumMismatch,
    DownloadFailed,
    LayoutError,
    PrepareError,
    UnverifiedArchive,
)
from harness.prepare.install import prepare
from harness.prepare.manifest import HEX64, load_assets, load_manifest
from harness.prepare.record import record_path

REPO = Path(__file__).resolve().parent.parent
DBS = ("alpha", "beta")
HF_REV = "0123456789abcdef0123456789abcdef01234567"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ a loopback server


class Loopback:
    """Serves `files` by path. Per-path behaviours:
    drop_once  first GET sends half the body (full Content-Length) and closes the socket
    no_range   ignores Range headers (always 200 with the whole body)
    truncate   sends half the body with no Content-Length (a close-delimited short read)
    bad_range  answers any Range with 206 from the middle of the body, not where asked
    Every request is logged as (method, path, Range header)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, set[str]] = {}
        self.log: list[tuple[str, str, str | None]] = []
        self.hf_commit = HF_REV
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _lookup(self) -> bytes | None:
                owner.log.append((self.command, self.path, self.headers.get("Range")))
                return owner.files.get(self.path)

            def do_HEAD(self) -> None:
                body = self._lookup()
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self._hf_headers(body)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()

            def _hf_headers(self, body: bytes) -> None:
                self.send_header("ETag", f'"{sha(body)}"')
                self.send_header("X-Repo-Commit", owner.hf_commit)
                self.send_header("Accept-Ranges", "bytes")

            def do_GET(self) -> None:
                body = self._lookup()
                modes = owner.modes.get(self.path, set())
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                gets = sum(1 for m, p, _ in owner.log if m == "GET" and p == self.path)
                if "truncate" in modes:
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and "no_range" not in modes:
                    start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                    if "bad_range" in modes:
                        start = len(body) // 2
                if start >= len(body) and start:
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if start:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self._hf_headers(body)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if "drop_once" in modes and gets == 1:
                    self.wfile.write(chunk[: len(chunk) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def gets(self, path: str) -> list[str | None]:
        return [rng for m, p, rng in self.log if m == "GET" and p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    srv = Loopback()
    yield srv
    srv.close()


# ------------------------------------------------------------------ a bundle built here


def make_db(path: Path, rows: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(rows)])
    con.commit()
    con.close()
    return path.read_bytes()


def build_bundle(tmp: Path, extra_dev_db: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A small Spider-shaped zip (wrapped in a top folder, with macOS junk); returns the
    archive bytes and the sha256 of each database."""
    src = tmp / "src" / "mini_data"
    dev = [{"db_id": "alpha", "question": "q"}, {"db_id": "beta", "question": "q"}]
    if extra_dev_db:
        dev.append({"db_id": extra_dev_db, "question": "q"})
    src.mkdir(parents=True, exist_ok=True)
    (src / "dev.json").write_text(json.dumps(dev))
    (src / "train.json").write_text(json.dumps([{"db_id": "alpha"}]))
    (src / "dev_gold.sql").write_text("SELECT 1\talpha\nSELECT 1\tbeta\n")
    hashes = {
        db: sha(make_db(src / "database" / db / f"{db}.sqlite", 3 + i)) for i, db in enumerate(DBS)
    }
    archive = tmp / "src" / "mini_data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(src.rglob("*")):
            zf.write(path, path.relative_to(src.parent).as_posix())
        zf.writestr("__MACOSX/mini_data/._dev.json", b"junk")
    return archive.read_bytes(), hashes


def write_manifest(
    home: Path,
    archive_sha: str,
    db_hashes: dict[str, str],
    sources: list[str],
    size: int | None = None,
) -> Path:
    """HARNESS_HOME-shaped folder: spider/manifest.toml (+ an empty bird manifest)."""
    (home / "spider").mkdir(parents=True, exist_ok=True)
    (home / "bird").mkdir(parents=True, exist_ok=True)
    (home / "bird" / "manifest.toml").write_text("schema_version = 1\n")
    dbs = "\n".join(f'{k} = "{v}"' for k, v in db_hashes.items())
    size_line = f"size = {size}\n" if size else ""
    note = "" if archive_sha else 'sha256_note = "fill on first fetch"\n'
    text = f"""
schema_version = 1
[assets.mini]
description = "test bundle"
kind = "archive"
default_dest = "data"
[assets.mini.archive]
filename = "mini_data.zip"
format = "zip"
sha256 = "{archive_sha}"
{size_line}{note}
{"".join(sources)}
[assets.mini.layout]
root_marker = "dev_gold.sql"
db_dir = "database"
splits = {{ dev = ["dev.json"], train = ["train.json"] }}
files = {{ "dev_gold.sql" = "" }}
[assets.mini.layout.databases]
{dbs}
"""
    path = home / "spider" / "manifest.toml"
    path.write_text(text)
    return path


def url_source(url: str) -> str:
    return f'[[assets.mini.sources]]\nkind = "url"\nurl = "{url}"\n'


def mirror_of(tmp_path: Path, data: bytes) -> Path:
    """A local mirror folder holding the archive under its manifest name."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "mini_data.zip").write_bytes(data)
    return mirror


ZIP = "/mini_data.zip"


def served(
    tmp_path: Path,
    server: Loopback,
    bundle: tuple[bytes, dict[str, str]],
    modes: set[str] | None = None,
    body: bytes | None = None,
    sized: bool = False,
    pinned: bool = True,
    home: str = "home",
) -> Path:
    """The bundle served at ZIP (or `body` in its place, with the server `modes`) and a
    manifest fetching it from there, pinning the bundle's sha256 (and its size if `sized`)."""
    data, dbs = bundle
    server.files[ZIP] = data if body is None else body
    if modes:
        server.modes[ZIP] = modes
    return write_manifest(
        tmp_path / home,
        sha(data) if pinned else "",
        dbs,
        [url_source(server.url + ZIP)],
        size=len(data) if sized else None,
    )


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[bytes, dict[str, str]]:
    return build_bundle(tmp_path)


def quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------ the real manifests


def _source_md_hashes(text: str) -> dict[str, str]:
    return {
        m.group(2): m.group(1)
        for m in re.finditer(r"^\s+([0-9a-f]{64})\s+(\S+)\s*$", text, flags=re.MULTILINE)
    }


def test_spider_manifest_dev_databases_are_the_source_md_list(shared_data: Path) -> None:
    text = (shared_data / "spider" / "SOURCE.md").read_text()
    block = text.split("for any manifest:")[1].split("Other sha256:")[0]
    listed = _source_md_hashes(block)
    assert len(listed) == 20
    spider = load_manifest(REPO / "spider" / "manifest.toml")["spider"]
    assert spider.layout.databases == listed
    others = _source_md_hashes(text.split("Other sha256:")[1])
    for name in ("dev.json", "tables.json", "dev_gold.sql"):
        assert spider.layout.files[name] == others[name]
    archive_sha = re.search(r"archive sha256\s+([0-9a-f]{64})", text).group(1)
    assert spider.archive is not None and spider.archive.sha256 == archive_sha


def test_spider_manifest_matches_the_real_dev_split(spider_dir: Path) -> None:
    """Every db_id in the real dev.json has a pinned hash, and every database present in
    shared data has the pinned bytes."""
    spider = load_manifest(REPO / "spider" / "manifest.toml")["spider"]
    dev_ids = {e["db_id"] for e in json.loads((spider_dir / "dev.json").read_text())}
    assert dev_ids == set(spider.layout.databases)
    present = 0
    for db_id, pinned in spider.layout.databases.items():
        path = spider_dir / "database" / db_id / f"{db_id}.sqlite"
        if path.is_file():
            present += 1
            assert sha(path.read_bytes()) == pinned, db_id
    assert present >= 19


def test_bird_manifest_databases_are_the_source_md_list(bird_dir: Path) -> None:
    text = (bird_dir / "SOURCE.md").read_text()
    block = text.split("check any copy against these):")[1].split("Official bundle")[0]
    bird = load_manifest(REPO / "bird" / "manifest.toml")["bird-dev"]
    assert bird.layout.databases == _source_md_hashes(block)
    dev_ids = {e["db_id"] for e in json.loads((bird_dir / "dev.json").read_text())}
    assert dev_ids == set(bird.layout.databases)


def test_committed_manifests_load_and_say_what_is_unverified() -> None:
    assets = load_assets()
    assert {
        "spider",
        "spider-testsuite",
        "bird-dev",
        "bird-minidev",
        "official-evaluator",
        "nltk-punkt-tab",
    } <= set(assets)
    evaluator = assets["official-evaluator"]
    assert evaluator.commit == "e97acc546ecbee8fa27fa8dbf025ef61493a876c"
    assert [c.asset for c in evaluator.companions] == ["nltk-punkt-tab"]
    for asset in assets.values():
        assert asset.sources
        if asset.archive and not asset.archive.sha256:
            assert "UNVERIFIED" in asset.archive.sha256_note
        elif asset.archive:
            assert HEX64.match(asset.archive.sha256)
    with open(REPO / "spider" / "manifest.toml", "rb") as fh:
        raw = tomllib.load(fh)
    hf = raw["assets"]["spider"]["sources"][0]
    assert hf["kind"] == "hf" and len(hf["revision"]) == 40


# ------------------------------------------------------------------ fetching


def test_http_fetch_installs_then_second_run_only_verifies(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data, dbs = bundle
    manifest = served(tmp_path, server, bundle, sized=True)
    dest = tmp_path / "out"
    first = prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert first.action == "installed"
    assert first.archive_sha256 == sha(data)
    for db, digest in dbs.items():
        assert sha((dest / "database" / db / f"{db}.sqlite").read_bytes()) == digest
    assert (dest / "dev.json").is_file() and not (dest / "__MACOSX").exists()
    assert not list(dest.glob(".staging-*")) and not (dest / ".downloads").exists()
    record = json.loads(record_path("mini", dest).read_text())
    assert (
        record["archive_sha256"] == sha(data) and "database/alpha/alpha.sqlite" in record["files"]
    )

    requests_before = len(server.log)
    second = prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert second.action == "verified"
    assert len(server.log) == requests_before  # nothing fetched


def test_corrupted_archive_is_refused_before_unpacking(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    manifest = served(tmp_path, server, bundle, body=bytes(bad))
    dest = tmp_path / "out"
    with pytest.raises(PrepareError) as err:
        prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert sha(bytes(bad)) in str(err.value) and sha(data) in str(err.value)
    assert not (dest / "dev.json").exists() and not (dest / "database").exists()
    assert not (dest / ".downloads" / "mini_data.zip").exists()  # not reused next time


def test_truncated_download_is_detected(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    # With the size pinned, the short body is named as truncated...
    manifest = served(tmp_path, server, bundle, modes={"truncate"}, sized=True)
    with pytest.raises(PrepareError, match="truncated"):
        prepare("mini", data_dir=tmp_path / "a", manifests=[manifest], say=quiet)
    assert not (tmp_path / "a" / "dev.json").exists()
    # ...and without it, the sha256 catches it.
    manifest = served(tmp_path, server, bundle, modes={"truncate"}, home="home2")
    with pytest.raises(PrepareError, match="sha256"):
        prepare("mini", data_dir=tmp_path / "b", manifests=[manifest], say=quiet)
    assert not (tmp_path / "b" / "dev.json").exists()


def test_interrupted_download_resumes_with_range(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    manifest = served(tmp_path, server, bundle, modes={"drop_once"}, sized=True)
    result = prepare("mini", data_dir=tmp_path / "out", manifests=[manifest], say=quiet)
    assert result.action == "installed"
    ranges = server.gets("/mini_data.zip")
    assert ranges[0] is None and len(ranges) == 2
    assert ranges[1] == f"bytes={len(data) // 2}-"


def test_interrupted_download_restarts_cleanly_without_range_support(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    manifest = served(tmp_path, server, bundle, modes={"drop_once", "no_range"})
    result = prepare("mini", data_dir=tmp_path / "out", manifests=[manifest], say=quiet)
    assert result.archive_sha256 == sha(data)  # no bytes appended twice
    assert len(server.gets("/mini_data.zip")) == 2


def test_a_killed_run_is_resumed_by_the_next(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    manifest = served(tmp_path, server, bundle)
    dest = tmp_path / "out"
    part = dest / ".downloads" / "mini_data.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1000])
    (dest / ".staging-mini").mkdir()  # debris of the killed run
    prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert server.gets("/mini_data.zip") == ["bytes=1000-"]
    assert not (dest / ".staging-mini").exists() and not part.exists()


def test_a_range_other_than_the_one_asked_for_restarts_cleanly(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    assert len(data) // 2 > 1000  # the server's range leaves a gap after the part file
    manifest = served(tmp_path, server, bundle, modes={"bad_range"})
    dest = tmp_path / "out"
    part = dest / ".downloads" / "mini_data.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1000])
    result = prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert result.archive_sha256 == sha(data)
    # The misplaced range was thrown away and the file fetched again from the start.
    assert server.gets("/mini_data.zip") == ["bytes=1000-", None]


def test_sources_are_tried_in_order(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data, dbs = bundle
    server.files["/good/mini_data.zip"] = data
    manifest = write_manifest(
        tmp_path / "home",
        sha(data),
        dbs,
        [
            url_source(server.url + "/gone/mini_data.zip"),
            url_source(server.url + "/good/mini_data.zip"),
        ],
    )
    result = prepare("mini", data_dir=tmp_path / "out", manifests=[manifest], say=quiet)
    assert result.source.endswith("/good/mini_data.zip")
    assert server.gets("/gone/mini_data.zip") == [None]


def test_hugging_face_source_at_pinned_revision(
    tmp_path: Path,
    server: Loopback,
    bundle: tuple[bytes, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, dbs = bundle
    path = f"/datasets/someone/mini/resolve/{HF_REV}/mini_data.zip"
    server.files[path] = data
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    source = (
        f'[[assets.mini.sources]]\nkind = "hf"\nrepo_id = "someone/mini"\n'
        f'revision = "{HF_REV}"\nfilename = "mini_data.zip"\n'
    )
    manifest = write_manifest(tmp_path / "home", sha(data), dbs, [source])
    result = prepare("mini", data_dir=tmp_path / "out", manifests=[manifest], say=quiet)
    assert result.source.startswith("huggingface dataset someone/mini@" + HF_REV)
    assert server.gets(path)
    assert not (tmp_path / "out" / ".downloads").exists()


def test_from_a_local_mirror_folder_file_or_url(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data, dbs = bundle
    mirror = mirror_of(tmp_path, data)
    # The manifest's own source is unreachable: only --from can work.
    manifest = write_manifest(
        tmp_path / "home", sha(data), dbs, [url_source(server.url + "/nowhere.zip")]
    )
    result = prepare(
        "mini", data_dir=tmp_path / "a", from_=str(mirror), manifests=[manifest], say=quiet
    )
    assert result.action == "installed" and server.log == []
    assert (mirror / "mini_data.zip").is_file()  # the user's copy is left alone
    prepare(
        "mini",
        data_dir=tmp_path / "b",
        from_=str(mirror / "mini_data.zip"),
        manifests=[manifest],
        say=quiet,
    )
    server.files["/mirror/mini_data.zip"] = data
    prepare(
        "mini",
        data_dir=tmp_path / "c",
        from_=server.url + "/mirror",
        manifests=[manifest],
        say=quiet,
    )
    assert (tmp_path / "c" / "database" / "beta" / "beta.sqlite").is_file()
    prepare(
        "mini",
        data_dir=tmp_path / "e",
        from_=mirror.as_uri(),
        manifests=[manifest],
        say=quiet,
    )
    assert (tmp_path / "e" / "database" / "alpha" / "alpha.sqlite").is_file()
    with pytest.raises(PrepareError, match=r"no mini_data\.zip there"):
        prepare(
            "mini", data_dir=tmp_path / "d", from_=str(tmp_path), manifests=[manifest], say=quiet
        )


# ------------------------------------------------------------------ layout checks


def test_database_hash_mismatch_names_the_file_and_both_hashes(
    tmp_path: Path, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data, dbs = bundle
    wrong = dict(dbs, beta="0" * 64)
    mirror = mirror_of(tmp_path, data)
    manifest = write_manifest(tmp_path / "home", sha(data), wrong, [url_source("http://x/")])
    dest = tmp_path / "out"
    with pytest.raises(ChecksumMismatch) as err:
        prepare("mini", data_dir=dest, from_=str(mirror), manifests=[manifest], say=quiet)
    message = str(err.value)
    assert "beta.sqlite" in message and dbs["beta"] in message and "0" * 64 in message
    assert not (dest / "database").exists()  # nothing placed


def test_a_split_db_without_its_database_stops(tmp_path: Path) -> None:
    data, dbs = build_bundle(tmp_path, extra_dev_db="ghost")
    mirror = mirror_of(tmp_path, data)
    manifest = write_manifest(tmp_path / "home", sha(data), dbs, [url_source("http://x/")])
    with pytest.raises(LayoutError, match=r"database/ghost/ghost\.sqlite \(database of split dev"):
        prepare(
            "mini", data_dir=tmp_path / "out", from_=str(mirror), manifests=[manifest], say=quiet
        )


def test_a_database_changed_after_install_is_caught(
    tmp_path: Path, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data, dbs = bundle
    mirror = mirror_of(tmp_path, data)
    # alpha unpinned: its hash is recorded at unpack and checked from then on.
    manifest = write_manifest(
        tmp_path / "home", sha(data), {"beta": dbs["beta"]}, [url_source("http://x/")]
    )
    dest = tmp_path / "out"
    prepare("mini", data_dir=dest, from_=str(mirror), manifests=[manifest], say=quiet)
    db = dest / "database" / "alpha" / "alpha.sqlite"
    con = sqlite3.connect(db)
    con.execute("INSERT INTO t VALUES (99, 'tampered')")
    con.commit()
    con.close()
    with pytest.raises(ChecksumMismatch, match=r"alpha\.sqlite.*recorded at unpack") as err:
        prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert dbs["alpha"] in str(err.value)
    again = prepare(
        "mini", data_dir=dest, from_=str(mirror), force=True, manifests=[manifest], say=quiet
    )
    assert again.action == "installed" and sha(db.read_bytes()) == dbs["alpha"]


def test_unverified_archive_is_refused_until_allowed(
    tmp_path: Path, server: Loopback, bundle: tuple[bytes, dict[str, str]]
) -> None:
    data = bundle[0]
    manifest = served(tmp_path, server, bundle, pinned=False)
    dest = tmp_path / "out"
    with pytest.raises(UnverifiedArchive) as err:
        prepare("mini", data_dir=dest, manifests=[manifest], say=quiet)
    assert sha(data) in str(err.value) and "fill on first fetch" in str(err.value)
    assert not (dest / "dev.json").exists()
    result = prepare("mini", data_dir=dest, allow_unverified=True, manifests=[manifest], say=quiet)
    assert result.archive_sha256 == sha(data)
    assert len(server.gets("/mini_data.zip")) == 1  # the first download was reused


# ------------------------------------------------------------------ git asset + companion


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_git_asset_at_pinned_commit_with_companion(tmp_path: Path, server: Loopback) -> None:
    repo = tmp_path / "evaluator-repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    for name in ("evaluation.py", "exec_eval.py", "process_sql.py", "parse.py"):
        (repo / name).write_text(f"# {name} v1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    pinned = _git(repo, "rev-parse", "HEAD")
    (repo / "evaluation.py").write_text("# a later change the pin must not pick up\n")
    _git(repo, "commit", "-q", "-am", "v2")

    punkt = tmp_path / "punkt_tab.zip"
    with zipfile.ZipFile(punkt, "w") as zf:
        for name in (
            "collocations.tab",
            "sent_starters.txt",
            "abbrev_types.txt",
            "ortho_context.tab",
        ):
            zf.writestr(f"punkt_tab/english/{name}", "x\n")
    server.files["/punkt_tab.zip"] = punkt.read_bytes()

    home = tmp_path / "home"
    (home / "spider").mkdir(parents=True)
    (home / "spider" / "manifest.toml").write_text(f"""
[assets.evaluator]
kind = "git"
commit = "{pinned}"
default_dest = "data/evaluator"
companions = [{{ asset = "punkt", path = "nltk_data/tokenizers/punkt_tab" }}]
[[assets.evaluator.sources]]
kind = "git"
url = "{repo}"
[assets.evaluator.layout]
root_marker = "evaluation.py"
files = {{ "evaluation.py" = "", "parse.py" = "" }}

[assets.punkt]
kind = "archive"
default_dest = "data/punkt"
[assets.punkt.archive]
filename = "punkt_tab.zip"
format = "zip"
sha256 = "{sha(punkt.read_bytes())}"
[[assets.punkt.sources]]
kind = "url"
url = "{server.url}/punkt_tab.zip"
[assets.punkt.layout]
root_marker = "english/collocations.tab"
files = {{ "english/abbrev_types.txt" = "" }}
""")
    manifest = home / "spider" / "manifest.toml"
    dest = tmp_path / "ev"
    result = prepare("evaluator", data_dir=dest, manifests=[manifest], say=quiet)
    assert result.commit == pinned
    assert (dest / "evaluation.py").read_text() == "# evaluation.py v1\n"
    assert not (dest / ".git").exists()
    assert (dest / "nltk_data/tokenizers/punkt_tab/english/ortho_context.tab").is_file()
    assert result.companions[0].action == "installed"
    again = prepare("evaluator", data_dir=dest, manifests=[manifest], say=quiet)
    assert again.action == "verified" and again.companions[0].action == "verified"

    text = manifest.read_text().replace(pinned, "f" * 40)
    manifest.write_text(text)
    with pytest.raises(PrepareError, match=r"f{40}"):
        prepare("evaluator", data_dir=tmp_path / "ev2", manifests=[manifest], say=quiet)


# ------------------------------------------------------------------ the command line


def test_cli_prepare_from_mirror_and_one_line_errors(
    tmp_path: Path,
    bundle: tuple[bytes, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, dbs = bundle
    mirror = mirror_of(tmp_path, data)
    write_manifest(tmp_path / "home", sha(data), dbs, [url_source("http://127.0.0.1:9/x.zip")])
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    dest = tmp_path / "out"
    assert cli_main(["prepare", "mini", "--data-dir", str(dest), "--from", str(mirror)]) == 0
    assert "mini: installed" in capsys.readouterr().out
    assert cli_main(["prepare", "mini", "--data-dir", str(dest)]) == 0
    assert "already prepared; verified" in capsys.readouterr().out

    (mirror / "mini_data.zip").write_bytes(data[:-10])
    code = cli_main(["prepare", "mini", "--data-dir", str(tmp_path / "o2"), "--from", str(mirror)])
    last = capsys.readouterr().err.splitlines()[-1]  # progress lines come first
    assert code == 2 and last.startswith("harness: error: ") and "sha256" in last


def test_download_helper_reports_http_errors(tmp_path: Path, server: Loopback) -> None:
    from harness.prepare.download import http_download

    with pytest.raises(DownloadFailed, match="HTTP 404"):
        http_download(server.url + "/missing", tmp_path / "f", say=quiet)

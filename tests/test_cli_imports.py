"""Only a missing optional dependency is reported as such (naming its extra); a broken
import inside the package is a bug and surfaces as one."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import click
import pytest

from harness import cli
from harness.extras import OPTIONAL_MODULES
from harness.registry import Registry, instance_of

REPO = Path(__file__).resolve().parent.parent


def _command_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    (tmp_path / "fake_command.py").write_text(
        body + "\nimport click\n\n@click.command()\ndef command():\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_command", raising=False)
    commands = Registry("command", {"diff": "fake_command:command"}, instance_of(click.Command),
                        "a click command", naming=lambda name: f"`harness {name}`")  # fmt: skip
    monkeypatch.setattr(cli, "COMMANDS", commands)


def test_a_broken_internal_import_surfaces_as_a_bug(tmp_path, monkeypatch) -> None:
    _command_module(tmp_path, monkeypatch, "import harness.no_such_module")
    with pytest.raises(ModuleNotFoundError, match=r"harness\.no_such_module"):
        cli.main(["diff", "a.json", "b.json"])


def test_a_missing_optional_dependency_names_its_extra(tmp_path, monkeypatch, capsys) -> None:
    _command_module(tmp_path, monkeypatch, "import sqlparse")
    monkeypatch.setitem(sys.modules, "sqlparse", None)  # import now fails as if absent
    assert cli.main(["diff", "a.json", "b.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "`harness diff` needs the optional package 'sqlparse'" in err
    assert "pip install 'harness[official]'" in err


def test_a_missing_core_dependency_is_not_disguised(tmp_path, monkeypatch) -> None:
    _command_module(tmp_path, monkeypatch, "import tabulate")
    monkeypatch.setitem(sys.modules, "tabulate", None)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["diff", "a.json", "b.json"])


def test_optional_modules_match_the_pyproject_extras() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    declared = {
        req.split("==")[0].split("[")[0].strip().lower(): extra
        for extra, reqs in extras.items()
        if extra != "dev"
        for req in reqs
    }
    assert declared == OPTIONAL_MODULES


def test_a_misspelled_command_gets_a_suggestion(capsys) -> None:
    assert cli.main(["socre"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'socre'; did you mean 'score'?" in err

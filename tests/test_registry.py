"""The generic registry: lazy import, the kind check, typo suggestions, missing extras."""

from __future__ import annotations

import sys

import pytest

from harness.errors import ConfigError
from harness.registry import Registry, instance_of, subclass_of


class Base:
    pass


class Child(Base):
    pass


NOT_A_CLASS = 3


def _registry() -> Registry[type[Base]]:
    return Registry(
        "widget",
        {"child": f"{__name__}:Child", "bad": f"{__name__}:NOT_A_CLASS"},
        subclass_of(Base),
        "a Base subclass",
    )


def test_get_imports_the_named_attribute() -> None:
    assert _registry().get("child") is Child


def test_an_entry_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'bad'.*not a Base subclass"):
        _registry().get("bad")


def test_a_typo_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="unknown widget 'chlid'; did you mean 'child'"):
        _registry().get("chlid")


def test_a_far_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known: bad, child\)") as info:
        _registry().get("zzz")
    assert "did you mean" not in str(info.value)


def test_nothing_is_imported_before_get(tmp_path, monkeypatch) -> None:
    (tmp_path / "lazy_widget_mod.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[object] = Registry("widget", {}, instance_of(object), "anything")
    reg.register("lazy", "lazy_widget_mod:thing")
    assert "lazy" in reg and "lazy_widget_mod" not in sys.modules
    with pytest.raises(RuntimeError, match="imported"):
        reg.get("lazy")


def test_a_missing_optional_extra_names_it(tmp_path, monkeypatch) -> None:
    (tmp_path / "needs_vllm_mod.py").write_text("import vllm_not_installed_x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(
        __import__("harness.extras").extras.OPTIONAL_MODULES, "vllm_not_installed_x", "vllm"
    )
    reg: Registry[object] = Registry("backend", {"v": "needs_vllm_mod:X"}, instance_of(object), "x")
    with pytest.raises(ConfigError, match=r"pip install 'harness\[vllm\]'"):
        reg.get("v")


def test_a_broken_import_of_our_own_is_a_bug_not_a_config_error(tmp_path, monkeypatch) -> None:
    (tmp_path / "broken_own_mod.py").write_text("import harness.no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[object] = Registry("judge", {"b": "broken_own_mod:X"}, instance_of(object), "x")
    with pytest.raises(ModuleNotFoundError):
        reg.get("b")


def test_register_checks_the_target_shape() -> None:
    with pytest.raises(ConfigError, match="module:attr"):
        _registry().register("x", "no_colon_here")

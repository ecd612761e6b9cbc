"""The ``mlcourse`` CLI: lazy imports, running a stage, exit codes, the JSON it prints."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common import cli
from common.registry import STAGES
from common.summary import validate
from tests.conftest import PROJECT_ROOT, assert_one_line_error, run_module


def test_list_and_help_do_not_import_torch():
    code = ("import sys; from common.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for stage in STAGES:
        assert stage.package in result.stdout


def test_run_stage_1_quick_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "1", "--quick", "--json"]) == 0
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    validate(document, "stage_run")
    assert document["stage"] == "stage1_basics" and document["passed"]
    assert [lesson["lesson"] for lesson in document["lessons"]] == [
        lesson.name for lesson in STAGES[0].lessons]
    assert document["seconds"] < 15
    assert (tmp_path / "runs" / "stage1_basics" / "linear_regression" / "fit.png").exists()


@pytest.mark.parametrize("argv", [["run", "9"], ["run"], ["frobnicate"], ["list", "--bad"]])
def test_bad_usage_exits_2_with_one_line(argv, tmp_path):
    assert_one_line_error(run_module("common.cli", *argv, cwd=tmp_path))


def test_doctor_reports_versions_datasets_and_extras(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for expected in ("torch", "device", "mnist", "sms-spam", "optional extras"):
        assert expected in out


def _only_commands(monkeypatch, entries: list) -> None:
    """Installed ``mlcourse.commands`` entry points are ``entries``; other groups as they are."""
    real = cli.importlib.metadata.entry_points
    monkeypatch.setattr(cli.importlib.metadata, "entry_points",
                        lambda group: entries if group == cli.COMMANDS_GROUP else real(group=group))


def _declared_commands() -> list:
    """The ``mlcourse.commands`` entry points pyproject.toml declares, as installed ones."""
    import importlib.metadata

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = project["project"]["entry-points"][cli.COMMANDS_GROUP]
    return [importlib.metadata.EntryPoint(name, value, cli.COMMANDS_GROUP)
            for name, value in table.items()]


def test_commands_come_from_entry_points_not_from_imports(monkeypatch, capsys):
    """``serve`` is found through the entry points pyproject.toml declares (as pip installs
    them), and the CLI's source names no stage package."""
    source = (PROJECT_ROOT / "common" / "cli.py").read_text(encoding="utf-8")
    assert not [stage.package for stage in STAGES if stage.package in source]
    declared = _declared_commands()
    assert [entry.name for entry in declared] == ["serve"]
    _only_commands(monkeypatch, declared)
    assert "serve" in cli.build_parser().format_help()
    with pytest.raises(SystemExit) as leaving:
        cli.main(["serve", "--help"])
    assert leaving.value.code == 0 and "--bundle" in capsys.readouterr().out
    _only_commands(monkeypatch, [])
    with pytest.raises(SystemExit) as leaving:  # not installed: an unknown command, one line
        cli.main(["serve"])
    assert leaving.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_a_command_whose_extra_is_missing_says_how_to_install_it(monkeypatch, capsys):
    import importlib.metadata

    missing = importlib.metadata.EntryPoint("serve", "no_such_module_here:main [serve]",
                                            cli.COMMANDS_GROUP)
    _only_commands(monkeypatch, [missing])
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "pip install -e '.[serve]'" in error and error.count("\n") == 1

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

"""A learner's own CSV, nobody here wrote it, through every stage with the default commands.

Stage 4 trains a named bundle (which becomes the current one), stage 5a exports it, serves it
and prices it, stage 5b builds the offline folder and the offline app classifies with it: each
step takes the current bundle by default, as a learner who types the guide's commands gets.
Slow (a minute or two): ``pytest -m slow``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, require

TOPICS = {
    "delivery": ["my parcel is late", "the courier never came", "tracking shows no update",
                 "package arrived damaged", "wrong address on the delivery"],
    "refund": ["I want my money back", "please refund the order", "charged twice for one item",
               "cancel and return the payment", "the refund has not arrived"],
    "praise": ["great service thank you", "the support team was lovely", "fast and friendly",
               "very happy with the product", "five stars from me"],
}


def learner_csv(path: Path, rows_per_class: int = 60) -> Path:
    """A small export with the mess of a real one: an id column, mixed case, a blank text."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket", "Category", "message"])
        for number in range(rows_per_class):
            for label, phrases in TOPICS.items():
                words = [rng.choice(phrases), rng.choice(["today", "again", "please", "", "!"]),
                         f"order {rng.randint(1000, 9999)}"]
                writer.writerow([f"T{number}{label[:2]}", label.capitalize(), " ".join(words)])
        writer.writerow(["T-blank", "Refund", "   "])
    return path


def run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m module args`` from the learner's own folder, as the guide says."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})


@pytest.mark.slow
def test_a_learners_csv_goes_from_stage_4_to_a_service_and_an_offline_app(tmp_path,
                                                                          monkeypatch):
    require("fastapi", "serve")
    data = learner_csv(tmp_path / "my_tickets.csv")

    trained = run("stage4_own_data.pipeline", "--quick", "--input", str(data), "--json",
                  cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr + trained.stdout[-2000:]
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["data"]["rows_dropped"]["empty_text"] == 1
    assert (tmp_path / "runs/stage4_own_data/bundles/CURRENT").read_text().strip() == \
        "my_tickets"

    exported = run("stage5a_integration.export", "--quick", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    priced = run("stage5a_integration.business_case", "--json", cwd=tmp_path)
    assert priced.returncode in (0, 1), priced.stderr  # 1: no threshold pays, said plainly
    assert json.loads(priced.stdout.strip().splitlines()[-1])["scenario"] == "triage"

    from fastapi.testclient import TestClient

    from common.paths import bundle_store
    from stage5a_integration.api import create_app
    from stage5a_integration.predictor import load_predictor

    monkeypatch.chdir(tmp_path)  # the store is found from the learner's folder
    predictor = load_predictor(bundle_store().current())
    with TestClient(create_app(predictor)) as client:
        answer = client.post("/predict", json={"texts": ["please refund my order 1234"]})
        assert answer.status_code == 200
        assert answer.json()["predictions"][0]["label"] in TOPICS

    folder = tmp_path / "phone"
    mobile = run("stage5b_on_device.export_mobile", "--quick", "--out", str(folder),
                 cwd=tmp_path)
    assert mobile.returncode == 0, mobile.stderr + mobile.stdout[-2000:]
    offline = run("stage5b_on_device.offline_app", "--model-dir", str(folder), "--json",
                  "the courier never came with my parcel", cwd=tmp_path)
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout.splitlines()[0])["label"] in TOPICS

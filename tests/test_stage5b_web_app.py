"""Stage 5b's offline web app: the JS preprocessing, the build, and the app in a phone's browser.

The JavaScript runs in a real engine: Node for the preprocessing, Debian's headless Chromium with
phone emulation (selenium) for the app. Without node, the npm packages or Chromium the tests skip
locally and fail under CI=true.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.bundle.textprep import (
    STANDARD_TEST_TEXTS,
    SpecError,
    TextEncoder,
    TextSpec,
    build_spec,
    load_spec,
)
from common.summary import validate
from tests.conftest import (
    IN_CI,
    PROJECT_ROOT,
    LessonRun,
    OfflineExport,
    assert_one_line_error,
    chromium_driver,
    run_lesson,
)

# Article 1 of the Universal Declaration of Human Rights (1948): a text nobody here wrote.
UNWRITTEN = ("All human beings are born free and equal in dignity and rights. They are endowed "
             "with reason and conscience and should act towards one another in a spirit of "
             "brotherhood.")
PROBABILITY_TOLERANCE = 1e-4
PHONE = {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0},
         "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                      "Gecko) Chrome/131.0 Mobile Safari/537.36"}
SCREENSHOT = PROJECT_ROOT / "runs" / "stage5b_on_device" / "web_app_phone.png"
MEASURED = SCREENSHOT.with_name("web_app_browser.json")
TEXTPREP_JS = PROJECT_ROOT / "stage5b_on_device" / "web" / "textprep.js"
ENCODE_JS = """
import { readFileSync } from "node:fs";
import { loadSpec, SpecEncoder } from "%s";
const { spec, texts } = JSON.parse(readFileSync(0, "utf8"));
let encoder;
try {
  encoder = new SpecEncoder(loadSpec(spec));
} catch (error) {
  console.log(JSON.stringify({ refused: `${error.constructor.name}: ${error.message}` }));
  process.exit(0);
}
console.log(JSON.stringify({ encoded: texts.map((text) => ({ normalized: encoder.normalize(text),
  tokens: encoder.tokens(text), ...encoder.encode(text) })) }));
"""


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        _missing("node is not installed (apt-get install nodejs npm)")
    return found


def _javascript(node: str, spec: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """Run web/textprep.js in Node on ``texts``: its encodings, or why it refused the spec."""
    result = subprocess.run(
        [node, "--input-type=module", "-e", ENCODE_JS % TEXTPREP_JS.as_uri()],
        input=json.dumps({"spec": spec, "texts": texts}), capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shipped_texts() -> list[str]:
    """Real messages the project ships (English and Russian), one line each."""
    with (PROJECT_ROOT / "data" / "sms_messages.tsv").open(encoding="utf-8") as file:
        texts = [line.rstrip("\n").split("\t", 1)[1] for line in file]
    with (PROJECT_ROOT / "data" / "support_inbox.csv").open(encoding="utf-8", newline="") as file:
        texts += [row["text"] for row in csv.DictReader(file)]
    return texts


def parity_texts() -> list[str]:
    """>= 200 single-line texts: shipped messages, the spec's standard strings, emoji variants."""
    base = [UNWRITTEN, *STANDARD_TEST_TEXTS, *shipped_texts()[:260]]
    variants = [f"{text} 😂👍🏽" if i % 3 else f"🔥 {text.upper()} 🇷🇺" for i, text in
                enumerate(base[:60])]
    texts = [t for t in [*base, *variants] if t.strip() and "\n" not in t and "\r" not in t]
    assert len(texts) >= 200
    assert any("\u0400" <= c <= "\u04ff" for t in texts for c in t)  # Cyrillic
    assert any(ord(c) > 0xFFFF for t in texts for c in t)  # beyond UTF-16's one unit (emoji)
    return texts


# --- the JavaScript preprocessing -----------------------------------------------------------
def test_javascript_reproduces_the_spec_test_vectors(node: str,
                                                     offline_export: OfflineExport) -> None:
    model_dir = offline_export.model_dir
    spec = json.loads((model_dir / "preprocessing.json").read_text(encoding="utf-8"))
    vectors = json.loads((model_dir / "preprocessing.vectors.json").read_text(
        encoding="utf-8"))["vectors"]
    assert len(vectors) >= len(STANDARD_TEST_TEXTS)
    encoded = _javascript(node, spec, [v["text"] for v in vectors])["encoded"]
    for vector, js in zip(vectors, encoded, strict=True):
        assert js["normalized"] == vector["normalized"], vector["text"]
        assert js["tokens"] == vector["tokens"], vector["text"]
        assert js["wordIds"] == vector["word_ids"], vector["text"]
        assert js["ngramIds"] == vector["ngram_ids"], vector["text"]


def test_javascript_encodes_like_python_on_many_texts(node: str,
                                                      offline_export: OfflineExport) -> None:
    spec_path = offline_export.model_dir / "preprocessing.json"
    encoder = TextEncoder(load_spec(spec_path))
    texts = parity_texts()
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    for text, js in zip(texts, _javascript(node, spec, texts)["encoded"], strict=True):
        python = encoder.encode(text)
        assert (js["wordIds"], js["ngramIds"]) == (python.word_ids, python.ngram_ids), text


@pytest.mark.parametrize("options", [{"ngram_scope": "text"},
                                     {"ngram_scope": "text", "max_ngrams": 40, "buckets": 997},
                                     {"ngram_scope": "token", "max_ngrams": 40}])
def test_javascript_follows_every_ngram_scope_like_python(node: str, options: dict) -> None:
    texts = parity_texts()
    encoder = TextEncoder(build_spec(texts[:150], **options))
    spec = encoder.spec.to_json()
    for text, js in zip(texts, _javascript(node, spec, texts)["encoded"], strict=True):
        python = encoder.encode(text)
        assert (js["wordIds"], js["ngramIds"]) == (python.word_ids, python.ngram_ids), text


@pytest.mark.parametrize("change", [{"no_such_option": True}, {"ngram_scope": "sentence"},
                                    {"normalization": "NFKX"},
                                    {"hash": "md5"}, {"buckets": 0},
                                    {"token_pattern": "[^a-z]+"}, {"version": 2}])
def test_javascript_refuses_a_spec_it_does_not_know_like_python(node: str, change: dict) -> None:
    spec = {**TextSpec().to_json(), **change}
    with pytest.raises(SpecError):
        TextSpec.from_json(spec)
    assert "SpecError" in _javascript(node, spec, ["hello"])["refused"]
    assert "encoded" in _javascript(node, TextSpec().to_json(), ["hello"])  # the control


# --- the build --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web_app(offline_export: OfflineExport, node: str,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    if not (PROJECT_ROOT / "node_modules" / "onnxruntime-web").is_dir():
        _missing("the npm packages are not installed (run `npm ci`, or `make venv`)")
    out = tmp_path_factory.mktemp("web") / "app"
    run = _build(offline_export.model_dir, out)
    assert run.code == 0, run.stdout + run.stderr
    return out, run.summary


def _build(model_dir: Path, out: Path) -> LessonRun:
    import contextlib
    import io

    from stage5b_on_device import web_app

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = web_app.main(["--model-dir", str(model_dir), "--out", str(out), "--json"])
    return LessonRun(code, stdout.getvalue(), stderr.getvalue())


def test_build_is_static_checked_and_ships_only_what_runs(web_app: tuple[Path, dict]) -> None:
    out, summary = web_app
    validate(summary)
    assert summary["passed"], summary["failed_checks"]
    for name in ("index.html", "app.js", "textprep.js", "sw.js", "manifest.webmanifest",
                 "SHA256SUMS", "model/model.int8.ort", "model/preprocessing.json",
                 "model/preprocessing.vectors.json", "icons/icon-192.png", "icons/icon-512.png"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "ort").iterdir()) == [
        "ort-wasm-simd-threaded.wasm", "ort.wasm.bundle.min.mjs"]
    metrics = summary["metrics"]
    assert metrics["payload_model_bytes"] == (out / "model" / "model.int8.ort").stat().st_size
    assert metrics["payload_total_bytes"] == sum(
        p.stat().st_size for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "'wasm-unsafe-eval'" in page
    assert "default-src 'self'" in page and "connect-src 'self'" in page
    for name in ("index.html", "app.js", "textprep.js", "sw.js", "manifest.webmanifest"):
        assert "https://" not in (out / name).read_text(encoding="utf-8"), name  # no CDN
    manifest = json.loads((out / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["start_url"] == "./" and {i["sizes"] for i in manifest["icons"]} == {
        "192x192", "512x512"}
    if shutil.which("sha256sum"):
        checked = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=out,
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout


def test_rebuild_replaces_the_previous_build_but_never_a_foreign_folder(
        web_app: tuple[Path, dict], offline_export: OfflineExport, tmp_path: Path) -> None:
    out = Path(shutil.copytree(web_app[0], tmp_path / "app"))
    assert _build(offline_export.model_dir, out).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]  # no staging folder left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes", encoding="utf-8")
    assert_one_line_error(_build(offline_export.model_dir, mine))
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "my notes"
    edited = out / "index.html"  # a build someone changed is theirs now: never replaced
    edited.write_text(edited.read_text(encoding="utf-8").replace("<h1>", "<h1>My "),
                      encoding="utf-8")
    assert_one_line_error(_build(offline_export.model_dir, out))
    assert "<h1>My " in edited.read_text(encoding="utf-8")


def test_build_refuses_a_changed_model_dir(offline_export: OfflineExport, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    model_dir = Path(shutil.copytree(offline_export.model_dir, tmp_path / "model"))
    spec = model_dir / "preprocessing.json"
    spec.write_text(spec.read_text(encoding="utf-8").replace('"lower"', '"none"'),
                    encoding="utf-8")
    run = run_lesson("stage5b_on_device.web_app", "--model-dir", str(model_dir),
                     out=tmp_path / "app", capsys=capsys)
    assert_one_line_error(run)
    assert "SHA256SUMS" in run.stderr
    assert not (tmp_path / "app").exists() or not any((tmp_path / "app").iterdir())


# --- in a phone's browser -------------------------------------------------------------------
@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium_driver(tmp_path_factory.mktemp("chromium-profile"), mobile=PHONE)
    driver.set_script_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


class Served:
    """The built app on 127.0.0.1 in a background thread, until :meth:`stop`."""

    def __init__(self, root: Path) -> None:
        from stage5b_on_device.web_app import static_server

        self.server = static_server(root)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _settled(driver: Any) -> tuple[str, str]:
    """Wait until the page says it is ready offline or failed: (data-state, text)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def state(d: Any) -> tuple[str, str] | None:
        found = d.execute_script("const s = document.getElementById('status');"
                                 "return [s.dataset.state, s.textContent];")
        return tuple(found) if found[0] in ("ready-offline", "error") else None

    return WebDriverWait(driver, 60).until(state)


def _classify_on_the_page(driver: Any, text: str) -> tuple[str, float, float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    driver.execute_script("document.getElementById('label').textContent = '';")
    driver.find_element(By.ID, "classify").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "label").text)
    probability = float(driver.find_element(By.ID, "probability").text)
    latency = float(driver.find_element(By.ID, "latency").get_attribute("data-ms"))
    return driver.find_element(By.ID, "label").text, probability, latency


def _python_offline_app(model_dir: Path, texts: list[str]) -> list[dict[str, Any]]:
    """The desktop offline app's answers (``offline_app --json``, texts on stdin)."""
    result = subprocess.run(
        [sys.executable, "-m", "stage5b_on_device.offline_app", "--model-dir", str(model_dir),
         "--json"], input="\n".join(texts) + "\n", capture_output=True, text=True, timeout=120,
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["text"] for a in answers] == texts
    return answers


@pytest.mark.browser
def test_the_app_classifies_on_a_phone_like_python_and_again_offline(
        web_app: tuple[Path, dict], offline_export: OfflineExport, phone: Any) -> None:
    from selenium.webdriver.common.by import By

    texts = parity_texts()
    expected = _python_offline_app(offline_export.model_dir, texts)
    served = Served(web_app[0])
    try:
        phone.get(served.url)
        state, message = _settled(phone)
        assert state == "ready-offline", message
        label, probability, latency = _classify_on_the_page(phone, UNWRITTEN)
        assert label == expected[0]["label"]
        assert abs(probability - expected[0]["probability"]) <= PROBABILITY_TOLERANCE
        assert 0 < latency < 1000
        in_browser = phone.execute_async_script(
            "const [texts, done] = arguments; (async () => { const out = [];"
            " for (const t of texts) out.push(await window.offlineClassifier.classify(t));"
            " return out; })().then(done, (e) => done(String(e)));", texts)
        assert isinstance(in_browser, list), in_browser
        differences = [abs(js["probabilities"][name] - p)
                       for js, py in zip(in_browser, expected, strict=True)
                       for name, p in py["probabilities"].items()]
        assert [js["label"] for js in in_browser] == [py["label"] for py in expected]
        assert max(differences) <= PROBABILITY_TOLERANCE
        origins = phone.execute_script(
            "return performance.getEntriesByType('resource').map((e) => new URL(e.name).origin);")
        assert set(origins) == {served.url.rstrip("/")}  # no request left the origin
        payload = {row.get_attribute("id"): int(row.get_attribute("data-bytes"))
                   for row in phone.find_elements(By.CSS_SELECTOR, "#payload tr")}
        assert payload["payload-total"] == web_app[1]["metrics"]["payload_total_bytes"]
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert phone.save_screenshot(str(SCREENSHOT))
        latencies = sorted(js["ms"] for js in in_browser)
        MEASURED.write_text(json.dumps({  # the figures the guide quotes
            "texts": len(texts), "max_abs_probability_difference": max(differences),
            "latency_ms_p50": latencies[len(latencies) // 2], "payload_bytes": payload,
        }, indent=1) + "\n", encoding="utf-8")
    finally:
        served.stop()
    phone.refresh()  # the server is gone: the service worker answers, "/" included
    state, message = _settled(phone)
    assert state == "ready-offline", message
    assert phone.execute_script("return navigator.serviceWorker.controller !== null;")
    offline_label, offline_probability, _ = _classify_on_the_page(phone, UNWRITTEN)
    assert (offline_label, offline_probability) == (label, probability)


@pytest.mark.browser
def test_the_app_refuses_a_changed_file_with_a_visible_error(web_app: tuple[Path, dict],
                                                             phone: Any,
                                                             tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    app = Path(shutil.copytree(web_app[0], tmp_path / "app"))
    model = app / "model" / "model.int8.ort"
    flipped = bytearray(model.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    model.write_bytes(bytes(flipped))
    served = Served(app)  # a new port: a new origin, with no cache from the other test
    try:
        phone.get(served.url)
        state, message = _settled(phone)
    finally:
        served.stop()
    assert state == "error"
    assert "model/model.int8.ort does not match its sha256" in message
    assert phone.find_element(By.ID, "classify").get_attribute("disabled") is not None
    assert phone.find_element(By.ID, "label").text == "–"

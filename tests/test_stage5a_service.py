"""Stage 5a service: REST through TestClient and a real uvicorn, gRPC, the serve CLI, batching.

The session's quick bundle (``tests/conftest.py``), exported once by this stage's export lesson
(the ``exported_bundle`` fixture), serves every stage 5a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT, require

SPAM = "WINNER!! You have been selected for a £1000 prize. Call 09061701461 now to claim"


@pytest.fixture(scope="session")
def bundle_dir(exported_bundle: tuple[Path, dict[str, Any]]) -> Path:
    return exported_bundle[0]


@pytest.fixture(scope="module")
def predictor(bundle_dir: Path):
    require("fastapi", "serve")
    from stage5a_integration.predictor import load_predictor

    return load_predictor(bundle_dir)


@pytest.fixture(scope="module")
def client(predictor) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from stage5a_integration.api import ServiceSettings, create_app

    app = create_app(predictor, ServiceSettings(noop_endpoint=True, grpc_port=0))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """uvicorn on 127.0.0.1 and a free port, in a thread; ready once ``/health`` answers.

    The socket listens before uvicorn starts, so the first ``/health`` request simply waits in
    the backlog until the server accepts it: no sleeps, one deadline.
    """
    import httpx
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


# --- REST through TestClient --------------------------------------------------------------


def test_predict_answers_one_label_per_text_in_order(client, predictor):
    texts = [SPAM, "Hi, I was charged twice for my subscription, please refund one payment"]
    answer = client.post("/predict", json={"texts": texts})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model_version"] == predictor.model_version
    assert len(body["predictions"]) == 2
    expected = predictor.predict(texts)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["label"] == want.label and got["label"] in predictor.labels
        assert got["probability"] == pytest.approx(want.probability, abs=1e-6)


def test_health_ready_model_and_metrics(client, predictor):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready",
                                           "model_version": predictor.model_version}
    info = client.get("/model").json()
    assert info["labels"] == list(predictor.labels)
    assert info["max_text_chars"] == predictor.max_text_chars and info["max_items"] == 256
    client.post("/predict", json={"texts": []})
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'mlcourse_http_requests_total{method="POST",path="/predict",status="422"}' in text
    assert 'mlcourse_http_errors_total{path="/predict",status="422"}' in text
    assert "mlcourse_http_request_duration_seconds_bucket" in text
    assert "mlcourse_predictions_total{label=" in text


def test_ready_is_503_before_startup(predictor):
    from fastapi.testclient import TestClient

    from stage5a_integration.api import create_app

    answer = TestClient(create_app(predictor)).get("/ready")  # no `with`: no lifespan ran
    assert answer.status_code == 503 and answer.json()["error"] == "not_ready"


def test_noop_validates_like_predict_but_skips_the_model(client):
    assert client.post("/noop", json={"texts": ["a", "b"]}).json()["model_version"] == "noop"
    assert client.post("/noop", json={"texts": []}).status_code == 422


def malformed_requests(max_chars: int) -> list[tuple[str, dict[str, Any], int]]:
    """(name, httpx request arguments, expected status): 30+ ways to get a request wrong."""
    raw = {"content-type": "application/json"}

    def body(data: bytes) -> dict[str, Any]:
        return {"content": data, "headers": raw}

    def chunks():
        for _ in range(30):
            yield b" " * 100_000

    return [
        ("truncated JSON", body(b'{"texts": ['), 400),
        ("not JSON at all", body(b"hello"), 400),
        ("trailing garbage", body(b'{"texts": ["a"]} x'), 400),
        ("single quotes", body(b"{'texts': ['a']}"), 400),
        ("not UTF-8", body(b'{"texts": ["\xff\xfe"]}'), 400),
        ("nested too deeply", body(b"[" * 50_000 + b"]" * 50_000), 400),
        ("empty body", body(b""), 422),
        ("null", body(b"null"), 422),
        ("a list", body(b'["a"]'), 422),
        ("a string", body(b'"a"'), 422),
        ("a number", body(b"42"), 422),
        ("no texts field", {"json": {}}, 422),
        ("texts is null", {"json": {"texts": None}}, 422),
        ("texts is a string", {"json": {"texts": "a"}}, 422),
        ("texts is a number", {"json": {"texts": 5}}, 422),
        ("texts is an object", {"json": {"texts": {"a": 1}}}, 422),
        ("texts is NaN", body(b'{"texts": NaN}'), 422),
        ("empty list", {"json": {"texts": []}}, 422),
        ("a number in texts", {"json": {"texts": [1]}}, 422),
        ("null in texts", {"json": {"texts": [None]}}, 422),
        ("a boolean in texts", {"json": {"texts": [True]}}, 422),
        ("a list in texts", {"json": {"texts": [["a"]]}}, 422),
        ("an object in texts", {"json": {"texts": [{"text": "a"}]}}, 422),
        ("an empty text", {"json": {"texts": ["ok", ""]}}, 422),
        ("a whitespace-only text", {"json": {"texts": [" \t\n "]}}, 422),
        ("a zero-width-only text", {"json": {"texts": ["\u200b\u200d\ufeff"]}}, 422),
        ("a too long text", {"json": {"texts": ["x" * (max_chars + 1)]}}, 422),
        ("too many texts", {"json": {"texts": ["a"] * 257}}, 422),
        ("an unknown field", {"json": {"texts": ["a"], "lang": "en"}}, 422),
        ("a typo in the field", {"json": {"text": ["a"]}}, 422),
        ("a repeated key", body(b'{"texts": ["a"], "texts": ["b"]}'), 422),
        ("a repeated key, spelt with escapes", body(b'{"texts": ["a"], "\\u0074exts": ["b"]}'),
         422),
        ("text/plain", {"content": b'{"texts": ["a"]}', "headers": {"content-type": "text/plain"}},
         415),
        ("no content type", {"content": b'{"texts": ["a"]}'}, 415),
        ("a form", {"data": {"texts": "a"}}, 415),
        ("multipart", {"files": {"texts": ("a.txt", b"a")}}, 415),
        ("body over the limit", body(b" " * (3 * 1024 * 1024)), 413),
        ("chunked body over the limit", {"content": chunks(), "headers": raw}, 413),
    ]


def test_malformed_requests_get_a_4xx_json_message(client, predictor):
    cases = malformed_requests(predictor.max_text_chars)
    assert len(cases) >= 30
    for name, arguments, status in cases:
        answer = client.post("/predict", **arguments)
        assert answer.status_code == status, (name, answer.text[:300])
        error = answer.json()
        assert error["error"] and len(error["message"]) > 10, name
        if name.startswith("a repeated key"):
            assert error["details"][0]["type"] == "duplicate_key", name
    assert client.get("/nope").status_code == 404
    assert client.get("/predict").json()["error"] == "method_not_allowed"


def test_openapi_describes_every_answer(client, predictor):
    schema = client.get("/openapi.json").json()
    operations = {(path, method.upper()): set(op["responses"])
                  for path, item in schema["paths"].items() for method, op in item.items()}
    seen = {("/predict", "POST", "200"), ("/noop", "POST", "200"), ("/health", "GET", "200"),
            ("/ready", "GET", "200"), ("/model", "GET", "200"), ("/metrics", "GET", "200"),
            ("/ready", "GET", "503"), ("/predict", "POST", "500"), ("/predict", "POST", "408")}
    for *_, status in malformed_requests(predictor.max_text_chars):
        seen.add(("/predict", "POST", str(status)))
    for path, method, status in seen:
        assert status in operations[(path, method)], (path, method, status)
    error_schema = schema["components"]["schemas"]["ErrorBody"]
    assert {"error", "message"} <= set(error_schema["required"])
    texts = schema["components"]["schemas"]["PredictRequest"]["properties"]["texts"]
    assert texts["maxItems"] == 256 and texts["items"]["maxLength"] == predictor.max_text_chars


def test_api_key_protects_everything_but_the_probes(predictor, monkeypatch):
    from fastapi.testclient import TestClient

    from stage5a_integration.api import API_KEY_ENV, ServiceSettings, create_app

    monkeypatch.setenv(API_KEY_ENV, "s3cret")
    app = create_app(predictor, ServiceSettings.from_environment(noop_endpoint=True))
    key = {"X-API-Key": "s3cret"}
    with TestClient(app) as keyed:
        assert keyed.get("/health").status_code == 200 and keyed.get("/ready").status_code == 200
        refused = keyed.post("/predict", json={"texts": ["a"]})
        assert refused.status_code == 401 and "X-API-Key" in refused.json()["message"]
        assert keyed.post("/predict", json={"texts": ["a"]},
                          headers={"X-API-Key": "wrong"}).status_code == 401
        for path in ("/metrics", "/model", "/docs", "/redoc", "/openapi.json", "/nope"):
            assert keyed.get(path).status_code == 401, path
            assert keyed.get(path, headers=key).status_code == (404 if path == "/nope" else 200)
        # The key is checked before the body is read: no 415, 422 or 413 leaks out without it.
        for arguments in ({"content": b'{"texts": [1]}', "headers": {"content-type": "x/y"}},
                          {"json": {"texts": []}}, {"content": b"{" * (3 * 1024 * 1024)}):
            answer = keyed.post("/predict", **arguments)
            assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
        assert keyed.post("/predict", json={"texts": []}, headers=key).status_code == 422
        assert keyed.post("/predict", json={"texts": ["a"]}, headers=key).status_code == 200
        operation = keyed.get("/openapi.json", headers=key).json()["paths"]["/predict"]["post"]
        assert "401" in operation["responses"] and operation["security"]


# --- gRPC ----------------------------------------------------------------------------------


def test_grpc_round_trip_matches_rest(client, predictor):
    grpc = require("grpc", "serve")
    from stage5a_integration.grpc_service import grpc_predict

    target = f"127.0.0.1:{client.app.state.grpc_port}"
    texts = [SPAM, "The app crashes when I open the settings page"]
    answer = grpc_predict(target, texts)
    rest = client.post("/predict", json={"texts": texts}).json()
    assert answer.model_version == predictor.model_version
    assert [p.label for p in answer.predictions] == [p["label"] for p in rest["predictions"]]
    for got, want in zip(answer.predictions, rest["predictions"], strict=True):
        assert got.probability == pytest.approx(want["probability"], abs=1e-6)
    for bad in ([], [""], ["   "], ["\u200b"], ["x" * (predictor.max_text_chars + 1)],
                ["a"] * 257):
        with pytest.raises(grpc.RpcError) as caught:
            grpc_predict(target, bad)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "texts" in caught.value.details()


def test_grpc_bytes_that_are_not_a_message_get_invalid_argument(client):
    """A raw unary call: no client-side serialiser stands between the bytes and the server."""
    grpc = require("grpc", "serve")
    from stage5a_integration.grpc_service import protos_and_services

    protos, _ = protos_and_services()
    service = protos.DESCRIPTOR.services_by_name["Classifier"].full_name
    target = f"127.0.0.1:{client.app.state.grpc_port}"
    with grpc.insecure_channel(target) as channel:
        raw_predict = channel.unary_unary(f"/{service}/Predict")
        good = protos.PredictRequest(texts=[SPAM]).SerializeToString()
        reply = protos.PredictResponse.FromString(raw_predict(good, timeout=10))
        assert len(reply.predictions) == 1
        for bad in (b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x0a\x02\xff\xfe"):  # junk, cut, UTF-8
            with pytest.raises(grpc.RpcError) as caught:
                raw_predict(bad, timeout=10)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
            assert "PredictRequest" in caught.value.details()


# --- a real uvicorn ------------------------------------------------------------------------


def test_real_uvicorn_survives_malformed_requests(predictor):
    import httpx

    from stage5a_integration.api import create_app

    with live_server(create_app(predictor)) as url, httpx.Client(base_url=url) as http:
        for name, arguments, status in malformed_requests(predictor.max_text_chars):
            answer = http.post("/predict", **arguments)
            assert answer.status_code == status, (name, answer.text[:200])
            assert answer.json()["message"], name
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as raw:
            raw.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: abc\r\n\r\n{}")
            assert raw.recv(4096).split(b" ")[1].startswith(b"4")  # refused, by uvicorn or us
        assert http.get("/health").status_code == 200
        assert http.post("/predict", json={"texts": [SPAM]}).status_code == 200


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


HALF_SENT = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100\r\n\r\n{\"texts\": [")


def test_slow_clients_are_cut_off_after_the_body_timeout(predictor):
    """200 clients send half a request and stall: each gets 408 and a closed connection once the
    body timeout passes, and the service answers others meanwhile."""
    import httpx

    from stage5a_integration.api import ServiceSettings, create_app

    timeout_s = 0.5
    app = create_app(predictor, ServiceSettings(body_timeout_s=timeout_s))
    with live_server(app) as url, contextlib.ExitStack() as stack:
        address = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
        started = time.monotonic()
        slow = [stack.enter_context(socket.create_connection(address, timeout=10))
                for _ in range(200)]
        for sock in slow:
            sock.sendall(HALF_SENT)
        assert httpx.post(f"{url}/predict", json={"texts": [SPAM]}).status_code == 200
        answers = [read_answer(sock) for sock in slow]  # b"" would be a close without an answer
        elapsed = time.monotonic() - started
        assert all(a.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in a for a in answers)
        assert timeout_s <= elapsed < timeout_s + 8, elapsed
        assert httpx.get(f"{url}/health").status_code == 200
        assert b'status="408"' in httpx.get(f"{url}/metrics").content


def test_client_disconnects_are_not_counted_as_server_errors(predictor):
    import httpx

    from stage5a_integration.api import create_app

    with live_server(create_app(predictor)) as url:
        address = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
        full = json.dumps({"texts": [SPAM]}).encode()
        for request in (HALF_SENT, HALF_SENT.replace(b"Content-Length: 100",
                                                     f"Content-Length: {len(full)}".encode())
                        .removesuffix(b'{"texts": [') + full):
            for _ in range(5):
                with socket.create_connection(address, timeout=10) as sock:
                    sock.sendall(request)  # and leave at once
        line = 'mlcourse_http_requests_total{method="POST",path="/predict",status="499"}'
        deadline = time.monotonic() + 20
        while line not in (metrics := httpx.get(f"{url}/metrics").text):
            assert time.monotonic() < deadline, metrics
        assert 'status="500"' not in metrics
        assert 'mlcourse_http_errors_total{path="/predict",status="499"}' not in metrics


def test_concurrent_requests_are_batched_and_answered_correctly(predictor):
    import httpx

    from stage5a_integration.api import create_app
    from stage5a_integration.export import split_texts

    texts = split_texts(predictor.bundle, 64)
    expected = [p.label for p in predictor.predict(texts)]

    async def send_all(url: str) -> list[str]:
        async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=32)) as c:
            answers = await asyncio.gather(*(c.post("/predict", json={"texts": [t]})
                                             for t in texts))
        return [a.json()["predictions"][0]["label"] for a in answers]

    app = create_app(predictor)
    with live_server(app) as url:
        labels = asyncio.run(send_all(url))
    assert labels == expected


def test_batcher_shares_one_call_and_spreads_failures():
    require("fastapi", "serve")
    from stage5a_integration.batching import MicroBatcher

    calls: list[list[str]] = []

    def double(texts):
        calls.append(list(texts))
        if "boom" in texts:
            raise RuntimeError("model failed")
        return [t * 2 for t in texts]

    batcher = MicroBatcher(double)

    async def scenario():
        results = await asyncio.gather(batcher.predict(["a"]), batcher.predict(["b", "c"]))
        failures = await asyncio.gather(batcher.predict(["boom"]), batcher.predict(["d"]),
                                        return_exceptions=True)
        return results, failures

    results, failures = asyncio.run(scenario())
    assert results == [["aa"], ["bb", "cc"]] and calls[0] == ["a", "b", "c"]
    assert all(isinstance(f, RuntimeError) for f in failures)


# --- the serve CLI -------------------------------------------------------------------------


def _write_sealed(root: Path, manifest: dict) -> None:
    """A manifest with its own checksums right: what a writer of such a bundle would leave."""
    from common.bundle.manifest import integrity

    sealed = {**manifest, "integrity": integrity(manifest)}
    (root / "manifest.json").write_text(json.dumps(sealed), encoding="utf-8")


def test_serve_refuses_a_regression_bundle(bundle_dir, tmp_path, capsys):
    require("fastapi", "serve")
    from stage5a_integration import serve

    regression = tmp_path / "regression"
    shutil.copytree(bundle_dir, regression)
    manifest = json.loads((regression / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(task="regression", positive_label=None, decision_threshold=None)
    _write_sealed(regression, manifest)
    assert serve.main(["--bundle", str(regression), "--port", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert "regression" in error and "classif" in error and len(error.splitlines()) == 1


@pytest.mark.parametrize("argv, needle", [
    (["--bundle", "/no/such/bundle", "--port", "0"], "not found"),
    (["--port", "70000"], "port"),
    (["--workers", "0"], ">= 1"),
    (["--grpc-only", "--port", "0"], "--grpc-port"),
])
def test_serve_usage_errors_are_one_line(argv, needle, capsys):
    require("fastapi", "serve")
    from stage5a_integration import serve

    try:
        code = serve.main(argv)
    except SystemExit as stop:  # argparse's own errors end the process, as for every lesson
        code = stop.code
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert needle in error and len(error.splitlines()) == 1 and "Traceback" not in error


def test_serve_without_an_onnx_export_says_how_to_make_one(bundle_dir, tmp_path, capsys):
    require("fastapi", "serve")
    from stage5a_integration import serve

    bare = tmp_path / "bare"
    shutil.copytree(bundle_dir, bare)
    manifest = json.loads((bare / "manifest.json").read_text(encoding="utf-8"))
    manifest["exports"] = {}
    _write_sealed(bare, manifest)
    assert serve.main(["--bundle", str(bare), "--port", "0"]) == 2
    assert "stage5a_integration.export" in capsys.readouterr().err


def test_serve_refuses_a_failed_bundle_unless_allowed(bundle_dir, tmp_path, capsys):
    require("fastapi", "serve")
    from common.bundle import mark_failed
    from stage5a_integration import serve
    from stage5a_integration.predictor import load_predictor

    failed = Path(shutil.copytree(bundle_dir, tmp_path / "failed"))
    mark_failed(failed, "final loss 1.7 <= loss bar 1.6")
    capsys.readouterr()
    assert serve.main(["--bundle", str(failed), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "marked failed" in error and "--allow-failed" in error
    assert len(error.strip().splitlines()) == 1
    assert load_predictor(failed).bundle.failed  # allowed: it loads, and warns
    assert "warning: bundle" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mlcourse_serve_with_two_workers_counts_every_request(bundle_dir):
    """The real command line, two uvicorn workers: /metrics adds up both (multiprocess mode).

    It starts the module ``mlcourse serve`` hands over to (test_cli checks that hand-over through
    the entry points pyproject.toml declares, which an installed environment may not have yet).
    """
    httpx = require("httpx", "serve")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stage5a_integration.serve", "--bundle", str(bundle_dir),
         "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        with httpx.Client(base_url=url, timeout=10) as http:
            while True:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                try:
                    if http.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the service did not start"
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=0.05)  # returns at once if the service died
            sent = 40
            for _ in range(sent):  # new connections: the kernel spreads them over the workers
                with httpx.Client(base_url=url, timeout=10) as fresh:
                    assert fresh.post("/predict", json={"texts": [SPAM]}).status_code == 200
            metrics = http.get("/metrics").text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    line = next(line for line in metrics.splitlines() if line.startswith(
        'mlcourse_http_requests_total{method="POST",path="/predict",status="200"}'))
    assert float(line.rsplit(" ", 1)[1]) == sent


def test_serving_never_imports_torch():
    """The service's modules load without PyTorch (a blocked import would fail loudly)."""
    require("fastapi", "serve")
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch': raise ImportError('torch is blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import stage5a_integration.serve, stage5a_integration.grpc_service\n"
            "import stage5a_integration.inbox.app\n"
            "stage5a_integration.grpc_service.protos_and_services()\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr

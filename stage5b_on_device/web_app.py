"""Build the offline web app: your classifier as a static PWA that runs on a phone, offline.

From stage 5b's offline model directory (``export_mobile --out DIR``) it writes a folder of
static files: ``index.html`` and the app's JavaScript, the text preprocessing in JavaScript driven
by the model's JSON spec (``web/textprep.js``, checked against the spec's test vectors), the int8
model, ONNX Runtime Web's WebAssembly (from npm, pinned in ``package-lock.json``), a web app
manifest with icons, a service worker that keeps everything on the device, and ``SHA256SUMS``,
which the page checks before it runs. No request leaves the page's origin (its
Content-Security-Policy says so) and it needs no special server headers (one wasm thread)::

    python -m stage5b_on_device.web_app --serve      # then open http://127.0.0.1:8000/

The guide (stage5b_on_device/README.md, "Your classifier on your phone") puts it on a phone.
"""

# %%
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from common.bundle.jsonfile import read_json_object
from common.errors import UsageError
from common.lesson import lesson_main, lesson_parser, positive_int
from common.paths import PROJECT_ROOT, runs_dir
from common.summary import LessonSummary
from stage5b_on_device.measure import human_bytes, markdown_table
from stage5b_on_device.model_dir import MANIFEST, MODELS, SPEC, load_runtime
from stage5b_on_device.sha256sums import SUMS, listed_files, verify_sha256sums, write_sha256sums

STAGE, LESSON = "stage5b_on_device", "web_app"
APP_FORMAT, APP_VERSION = "ml-roadmap/web-app", 1
WEB_DIR = Path(__file__).with_name("web")
PAGE_FILES = ("index.html", "app.css", "app.js", "textprep.js", "manifest.webmanifest",
              "icons/icon-192.png", "icons/icon-512.png")
SERVICE_WORKER, SERVICE_WORKER_BODY = "sw.js", "sw-body.js"
NODE_MODULES = PROJECT_ROOT / "node_modules"
ORT_PACKAGE = "onnxruntime-web"
# The WebAssembly build of ONNX Runtime Web, glue code bundled in: the only runtime files the
# page loads (the package's other builds, WebGPU, WebGL and threaded proxies, stay out).
ORT_FILES = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_FILES = (MANIFEST, MODELS["int8"], SPEC, "preprocessing.vectors.json")
DEFAULT_PORT = 8000
# Payload kinds, as the page reports them (web/app.js: showPayload).
KINDS = {"model": (".ort",), "wasm": (".wasm",), "js": (".js", ".mjs")}
VECTOR_CHECK = """
import { readFileSync } from "node:fs";
import { loadSpec, SpecEncoder } from "%s";
const [spec, vectors] = process.argv.slice(1).map((p) => JSON.parse(readFileSync(p, "utf8")));
console.log(JSON.stringify(new SpecEncoder(loadSpec(spec)).failedVectors(vectors.vectors)));
"""


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False,
                           out_help="where to write the app (default: runs/stage5b_on_device/"
                                    "web_app/); a previous build there is replaced")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="offline model directory (default: export_mobile's output, "
                             "runs/stage5b_on_device/export_mobile)")
    parser.add_argument("--serve", action="store_true",
                        help="then serve the app on 127.0.0.1 until Ctrl-C")
    parser.add_argument("--port", type=positive_int, default=DEFAULT_PORT,
                        help="port for --serve")
    return parser


# %%
def ort_web_dir() -> tuple[Path, str]:
    """ONNX Runtime Web's ``dist/`` folder in ``node_modules`` and the installed version."""
    package = NODE_MODULES / ORT_PACKAGE
    if not (package / "package.json").is_file():
        raise UsageError(f"ONNX Runtime Web is not installed in {NODE_MODULES}: run `npm ci` "
                         "in the project folder (make venv does it)")
    version = read_json_object(package / "package.json", error=UsageError,
                               what="npm package manifest")["version"]
    pinned = read_json_object(PROJECT_ROOT / "package-lock.json", error=UsageError,
                              what="npm lock file")
    wanted = pinned["packages"][f"node_modules/{ORT_PACKAGE}"]["version"]
    if version != wanted:
        raise UsageError(f"{ORT_PACKAGE} {version} is installed but package-lock.json pins "
                         f"{wanted}: run `npm ci`")
    return package / "dist", version


def build_id(root: Path) -> str:
    """A digest of the built files: the service worker's cache name changes with any of them."""
    digest = hashlib.sha256()
    for name in listed_files(root):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()[:16]


def write_app(model_dir: Path, target: Path) -> dict[str, object]:
    """Write the app's files into the empty folder ``target``; returns its ``app.json``."""
    dist, version = ort_web_dir()
    for name in PAGE_FILES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(WEB_DIR / name, target / name)
    (target / "ort").mkdir()
    for name in ORT_FILES:
        shutil.copyfile(dist / name, target / "ort" / name)
    (target / "model").mkdir()
    for name in MODEL_FILES:
        shutil.copyfile(model_dir / name, target / "model" / name)
    info = read_json_object(model_dir / MANIFEST, error=UsageError, what="model directory manifest")
    app = {"format": APP_FORMAT, "version": APP_VERSION, "model_version": info["model_version"],
           "onnxruntime_web": version}
    (target / "app.json").write_text(json.dumps(app, indent=1) + "\n", encoding="utf-8")
    files = [*listed_files(target), SERVICE_WORKER, SUMS]
    header = f"const BUILD = {json.dumps(build_id(target))};\nconst FILES = {json.dumps(files)};\n"
    (target / SERVICE_WORKER).write_text(
        header + (WEB_DIR / SERVICE_WORKER_BODY).read_text(encoding="utf-8"), encoding="utf-8")
    write_sha256sums(target)
    return app


def is_web_app(folder: Path) -> bool:
    """A build of this program, unchanged since (replacing it loses nothing the learner made).

    Validated by its marker and its checksums: an app someone edited is not ours to delete.
    """
    marker = folder / "app.json"
    if not marker.is_file():
        return False
    try:
        marked = read_json_object(marker, error=UsageError, what="web app marker")
        if marked.get("format") != APP_FORMAT:
            return False
        verify_sha256sums(folder)
    except UsageError:
        return False
    return True


def build_app(model_dir: Path, out: Path) -> dict[str, object]:
    """Build into a staging sibling of ``out``, check it, then swap it into place.

    A failed build leaves the previous app untouched; only a folder that :func:`is_web_app`
    recognises, or an empty one, is ever replaced.
    """
    if out.exists() and any(out.iterdir()) and not is_web_app(out):
        raise UsageError(f"{out} is not an unchanged web app built here (its files do not match "
                         f"its {SUMS}): choose another --out, or move it away")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the app from a web server's user
    previous = staging.with_name(staging.name.replace(".staging-", ".previous-"))
    try:
        app = write_app(model_dir, staging)
        verify_sha256sums(staging)
    except BaseException:
        shutil.rmtree(staging)
        raise
    if out.exists():
        out.replace(previous)
    staging.replace(out)
    if previous.exists():
        shutil.rmtree(previous)
    return app


def payload(root: Path) -> dict[str, int]:
    """Bytes by kind (model, wasm, js, other, total): what a phone downloads once."""
    sizes = dict.fromkeys((*KINDS, "other"), 0)
    for name in listed_files(root):
        kind = next((k for k, endings in KINDS.items() if name.endswith(endings)), "other")
        sizes[kind] += (root / name).stat().st_size
    sizes["total"] = sum(sizes.values())
    return sizes


def javascript_vector_failures(root: Path) -> list[str] | None:
    """The spec's test vectors the app's ``textprep.js`` does not reproduce (None: no node)."""
    node = shutil.which("node")
    if node is None:
        return None
    script = VECTOR_CHECK % (root / "textprep.js").resolve().as_uri()
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, str(root / "model" / SPEC),
         str(root / "model" / "preprocessing.vectors.json")],
        capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        return [f"node failed: {result.stderr.strip().splitlines()[-1:]}"]
    return json.loads(result.stdout)


# %%
class StaticFiles(SimpleHTTPRequestHandler):
    """A plain static server with the types a PWA needs and no request log on the console."""

    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
        ".mjs": "text/javascript", ".wasm": "application/wasm",
        ".webmanifest": "application/manifest+json", "": "text/plain"}

    def log_message(self, format: str, *args: object) -> None:
        return


def static_server(root: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``root`` on 127.0.0.1 (``port`` 0: any free port); call ``serve_forever``."""
    handler = functools.partial(StaticFiles, directory=str(root))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {error.strerror}") from None


def serve(root: Path, port: int) -> None:
    server = static_server(root, port)
    print(f"serving {root} on http://127.0.0.1:{server.server_port}/ (Ctrl-C to stop)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()


def run(args: argparse.Namespace) -> LessonSummary:
    model_dir = args.model_dir or Path.cwd() / "runs" / STAGE / "export_mobile"
    load_runtime(model_dir)  # the same checks the offline app makes: sums, manifest, spec, model
    out = runs_dir(STAGE, LESSON, args.out).resolve()
    app = build_app(model_dir, out)
    sizes = payload(out)
    failures = javascript_vector_failures(out)
    print(markdown_table(("payload", "size"), [(kind, human_bytes(size))
                                               for kind, size in sizes.items()]))
    print(f"\nweb app: {out} (model {app['model_version']}, ONNX Runtime Web "
          f"{app['onnxruntime_web']}); the page shows its per-text latency")
    summary = LessonSummary(
        STAGE, LESSON, "tool",
        metrics={f"payload_{kind}_bytes": float(size) for kind, size in sizes.items()},
        outputs=[str(out)],
        extras={"app_dir": str(out), "model_dir": str(model_dir),
                "onnxruntime_web": app["onnxruntime_web"], "files": len(listed_files(out))})
    if failures is None:
        print("note: node is not installed, so the JS preprocessing was not checked here "
              "(the page checks it on load)")
    else:
        summary.check(f"the JS preprocessing reproduces the spec's test vectors "
                      f"({len(failures)} differ)", not failures)
    if args.serve and summary.passed:
        serve(out, args.port)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())

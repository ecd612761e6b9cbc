// The offline classifier in the browser: check the files, load the spec and the int8 model into
// ONNX Runtime Web (WebAssembly, one thread), classify on this device, work offline after the
// first visit (sw.js). The decision rule is the Python runtime's (common/bundle/decision.py).
//
// DOM contract (tests and the guide rely on it): textarea#text, button#classify (disabled until
// the model is loaded), #label, #probability (the shown label's probability, a bare number in
// [0, 1]), #status (data-state: loading, ready, ready-offline, error).

import * as ort from "./ort/ort.wasm.bundle.min.mjs";
import { loadSpec, SpecEncoder } from "./textprep.js";

const $ = (id) => document.getElementById(id);
const SUMS = "SHA256SUMS";
const SUM_LINE = /^([0-9a-f]{64}) {2}([^\n]+)$/;
const MODEL = "model/model.int8.ort";
const WASM = "ort/ort-wasm-simd-threaded.wasm";

class AppError extends Error {}

function showStatus(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchBytes(path) {
  const response = await fetch(path);
  if (!response.ok) throw new AppError(`cannot load ${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Every file SHA256SUMS lists, fetched and checked: a Map path → bytes, or an AppError. */
async function verifiedFiles() {
  const text = new TextDecoder().decode(await fetchBytes(SUMS));
  const lines = text.split("\n");
  if (lines.pop() !== "" || lines.length === 0) throw new AppError(`${SUMS} is malformed`);
  const listed = lines.map((line, index) => {
    const match = SUM_LINE.exec(line);
    if (match === null) throw new AppError(`${SUMS}: line ${index + 1} is malformed`);
    return { sha256: match[1], path: match[2] };
  });
  const files = new Map();
  await Promise.all(listed.map(async ({ sha256, path }) => {
    const bytes = await fetchBytes(path);
    if (hex(await crypto.subtle.digest("SHA-256", bytes)) !== sha256) {
      throw new AppError(`${path} does not match its sha256 in ${SUMS}: the app will not run `
        + "a changed file (build it again with python -m stage5b_on_device.web_app)");
    }
    files.set(path, bytes);
  }));
  for (const path of [MODEL, WASM, "model/model.json", "model/preprocessing.json",
    "model/preprocessing.vectors.json", "app.json"]) {
    if (!files.has(path)) throw new AppError(`${SUMS} does not list ${path}`);
  }
  return files;
}

const json = (bytes) => JSON.parse(new TextDecoder().decode(bytes));

function humanBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** Payload by kind: what a phone downloads once and keeps. */
function showPayload(files) {
  const kinds = { model: 0, wasm: 0, js: 0, other: 0 };
  for (const [path, bytes] of files) {
    const kind = path.endsWith(".ort") ? "model" : path.endsWith(".wasm") ? "wasm"
      : /\.m?js$/.test(path) ? "js" : "other";
    kinds[kind] += bytes.length;
  }
  kinds.total = kinds.model + kinds.wasm + kinds.js + kinds.other;
  const names = { model: "model (int8 .ort)", wasm: "ONNX Runtime Web (wasm)",
    js: "JavaScript", other: "page, spec, icons", total: "total" };
  $("payload").replaceChildren(...Object.entries(kinds).map(([kind, size]) => {
    const row = document.createElement("tr");
    row.id = `payload-${kind}`;
    row.dataset.bytes = String(size);
    row.innerHTML = "<td></td><td class=number></td>";
    row.cells[0].textContent = names[kind];
    row.cells[1].textContent = humanBytes(size);
    return row;
  }));
}

function softmax(logits) {
  const top = Math.max(...logits);
  const exp = Array.from(logits, (x) => Math.exp(x - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((x) => x / sum);
}

function idsTensor(ids) {
  const row = ids.length ? ids : [0];  // at least one column: an empty text is one pad id
  return new ort.Tensor("int64", BigInt64Array.from(row, BigInt), [1, row.length]);
}

class Classifier {
  constructor(session, encoder, info) {
    Object.assign(this, { session, encoder, info });
  }

  /** {label, probability, probabilities, ms} of one text, as the Python runtime decides. */
  async classify(text) {
    const started = performance.now();
    const { wordIds, ngramIds } = this.encoder.encode(text);
    const output = await this.session.run({ word_ids: idsTensor(wordIds),
      ngram_ids: idsTensor(ngramIds) });
    const probabilities = softmax(output.logits.data);
    const { labels, positive_label: positive, threshold } = this.info;
    let index;
    if (positive !== null) {
      const p = labels.indexOf(positive);
      index = probabilities[p] >= (threshold ?? 0.5) ? p : 1 - p;
    } else {
      index = probabilities.indexOf(Math.max(...probabilities));
    }
    return { label: labels[index], probability: probabilities[index],
      probabilities: Object.fromEntries(labels.map((l, i) => [l, probabilities[i]])),
      ms: performance.now() - started };
  }
}

async function loadClassifier() {
  const files = await verifiedFiles();
  showPayload(files);
  const info = json(files.get("model/model.json"));
  const app = json(files.get("app.json"));
  const encoder = new SpecEncoder(loadSpec(json(files.get("model/preprocessing.json"))));
  const failed = encoder.failedVectors(json(files.get("model/preprocessing.vectors.json")).vectors);
  if (failed.length) {
    throw new AppError(`the preprocessing does not reproduce ${failed.length} test vectors, `
      + `e.g. ${JSON.stringify(failed[0])}`);
  }
  ort.env.wasm.numThreads = 1;  // no SharedArrayBuffer: works from any plain static server
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = files.get(WASM);  // the checked bytes, not a second download
  const session = await ort.InferenceSession.create(files.get(MODEL),
    { executionProviders: ["wasm"] });
  $("model-info").textContent = `model ${info.model_version}, labels ${info.labels.join(", ")}; `
    + `ONNX Runtime Web ${app.onnxruntime_web}`;
  const classifier = new Classifier(session, encoder, info);
  await classifier.classify("");  // warm-up: the first run allocates
  return classifier;
}

function showResult(result) {
  $("label").textContent = result.label;
  $("probability").textContent = result.probability.toFixed(6);
  $("latency").textContent = `(${result.ms.toFixed(1)} ms on this device)`;
  $("latency").dataset.ms = String(result.ms);
  $("probabilities").replaceChildren(...Object.entries(result.probabilities).map(([l, p]) => {
    const row = document.createElement("tr");
    row.innerHTML = "<td></td><td class=number></td>";
    row.cells[0].textContent = l;
    row.cells[1].textContent = p.toFixed(4);
    return row;
  }));
}

async function goOffline() {
  if (!("serviceWorker" in navigator)) {
    throw new AppError("this browser has no service workers: it works only while online");
  }
  await navigator.serviceWorker.register("sw.js");
  await navigator.serviceWorker.ready;
}

async function main() {
  document.addEventListener("securitypolicyviolation", (event) => {
    showStatus(`error: the page tried to reach ${event.blockedURI} (blocked by its `
      + "Content-Security-Policy)", "error");
  });
  const classifier = await loadClassifier();
  const button = $("classify");
  const run = async () => {
    button.disabled = true;
    try {
      showResult(await classifier.classify($("text").value));
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener("click", run);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
  });
  button.disabled = false;
  window.offlineClassifier = classifier;  // for scripted checks (tests/test_stage5b_web_app.py)
  showStatus("Ready; saving the app on this device for offline use…", "ready");
  try {
    await goOffline();
    showStatus("Ready offline: the model runs on this device, no network needed.",
      "ready-offline");
  } catch (error) {
    showStatus(`Ready, online only: ${error.message} (service workers need HTTPS or localhost)`,
      "ready");
  }
}

main().catch((error) => {
  showStatus(`error: ${error.message}`, "error");
  console.error(error);
});

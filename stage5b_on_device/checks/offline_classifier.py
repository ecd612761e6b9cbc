"""Checks for exercise 5b.3: agreement with the course's runtime, edge cases, and no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import ModuleType

from common.bundle.runtime import TextClassifierRuntime
from common.checks import check, expect
from common.paths import PROJECT_ROOT
from stage3_text.checks.fixtures import TEXTS, tiny_classifier

# Run the learner's file in a fresh Python whose `import torch` fails, and classify one text.
WITHOUT_TORCH = """
import importlib.util, json, sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
spec = importlib.util.spec_from_file_location("learner_without_torch", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
classifier = module.OfflineClassifier(sys.argv[2], sys.argv[3], ["ham", "spam"])
print(json.dumps(classifier.classify(["WIN a FREE prize now"])))
"""


def learner_classifier(learner: ModuleType):  # type: ignore[no-untyped-def]
    tiny = tiny_classifier()
    return learner.OfflineClassifier(tiny.spec_path, tiny.model_path, tiny.labels)


@check("labels and probabilities equal the course runtime's",
       hint="encode with TextEncoder(spec).encode_batch, feed word_ids and ngram_ids, softmax "
            "the logits along axis 1 and take the argmax per row")
def equals_runtime(learner: ModuleType) -> None:
    tiny = tiny_classifier()
    reference = TextClassifierRuntime.from_files(tiny.spec_path, tiny.model_path, tiny.labels)
    texts = [*TEXTS, "", "ok 👍"]
    seen = learner_classifier(learner).classify(texts)
    expected = [(p.label, p.probability) for p in reference.predict(texts)]
    expect(len(seen) == len(expected), expected=f"{len(expected)} answers",
           seen=f"{len(seen)}")
    for text, (label, probability), (want_label, want) in zip(texts, seen, expected, strict=True):
        expect(label == want_label and abs(float(probability) - want) <= 1e-5,
               expected=f"({want_label!r}, {want:.5f}) for {text!r}",
               seen=f"({label!r}, {float(probability):.5f})")


@check("an empty list gives [] and 300 texts at once work",
       hint="return [] before running the session on no texts; encode_batch pads a whole "
            "batch to one length")
def edge_cases(learner: ModuleType) -> None:
    classifier = learner_classifier(learner)
    empty = classifier.classify([])
    expect(list(empty) == [], expected="[]", seen=repr(empty)[:80])
    many = classifier.classify([f"message number {n} " * (n % 7 + 1) for n in range(300)])
    expect(len(many) == 300, expected="300 answers", seen=f"{len(many)}")


@check("runs in a Python without torch",
       hint="import only numpy, onnxruntime and common.bundle.textprep; a softmax is three numpy "
            "lines (exp of logits minus their max, divided by the row sums)")
def torch_free(learner: ModuleType) -> None:
    tiny = tiny_classifier()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(learner.__file__),
                          str(tiny.spec_path), str(tiny.model_path)],
                         capture_output=True, text=True, timeout=60, env=environment)
    last = (run.stderr.strip().splitlines() or [""])[-1]
    expect(run.returncode == 0, expected="the file to import and classify without torch",
           seen=last[:160] or f"exit code {run.returncode}")
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    expect(len(answer) == 1, expected="one answer", seen=repr(answer)[:80])

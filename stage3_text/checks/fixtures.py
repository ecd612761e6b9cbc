"""A tiny exported text classifier, built in seconds, for the checks of stages 5a and 5b.

The checks never read files outside the repository: this makes a preprocessing spec from a few
messages, a :class:`~stage3_text.classifier.TextClassifier` fitted to them (fixed seed, so its
answers are confident rather than coin flips) and its ONNX export, once per process, in a
temporary folder.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from common.bundle.textprep import TextEncoder, build_spec, save_spec
from stage3_text.classifier import ClassifierConfig, TextClassifier, encode_tensors
from stage3_text.onnx_export import export_onnx

LABELS = ("ham", "spam")
LABELLED = (
    ("WIN a FREE prize now, call 09061701461 to claim your £1000 reward!", "spam"),
    ("URGENT: your account is locked, click http://bit.example to verify", "spam"),
    ("Congratulations! You have been selected for a free holiday, reply YES", "spam"),
    ("Are we still on for lunch tomorrow at noon?", "ham"),
    ("Can you pick up milk on the way home, please", "ham"),
    ("Мама, я задержусь на работе, буду к восьми", "ham"),
    ("Running late, the bus broke down. See you soon", "ham"),
    ("Free entry in a weekly draw: text WIN to 80086 now", "spam"),
)
TEXTS = tuple(text for text, _ in LABELLED)


@dataclass(frozen=True)
class TinyClassifier:
    spec_path: Path
    model_path: Path
    labels: tuple[str, ...]
    model: TextClassifier


@cache
def tiny_classifier() -> TinyClassifier:
    folder = Path(tempfile.mkdtemp(prefix="mlcourse-tiny-classifier-"))
    spec = build_spec(TEXTS, min_freq=1, buckets=4096)
    torch.manual_seed(0)
    model = TextClassifier(ClassifierConfig.for_spec(spec, len(LABELS), embed_dim=32))
    words, ngrams = encode_tensors(TextEncoder(spec), TEXTS)
    targets = torch.tensor([LABELS.index(label) for _, label in LABELLED])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(words, ngrams), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    spec_path = save_spec(spec, folder / "spec.json")
    model_path = export_onnx(model, folder / "model.onnx")
    return TinyClassifier(spec_path, model_path, LABELS, model)

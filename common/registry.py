"""The map of the course: stage ids, their packages and their lessons, by module name only.

The CLI reads this and imports a lesson only when asked to run it, so ``mlcourse list`` never
imports torch. Each stage's issue adds its lessons here, in the order a learner runs them. It is
also the one place in ``common`` that knows where a stage keeps what later stages read: the
store of model bundles that stage 4 writes and stages 5a/5b use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

# Stage 4 writes named model bundles here (relative to the working folder); 5a and 5b read them.
BUNDLE_STORE_DIR = PurePosixPath("runs/stage4_own_data/bundles")
BUNDLE_MAKER = "python -m stage4_own_data.pipeline"  # the command that makes one


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str


@dataclass(frozen=True)
class Stage:
    """One stage. ``main`` is the lesson that ``mlcourse run ID -- ARGS`` hands ARGS to;
    ``reads_bundles``: every lesson takes ``--bundle`` (``mlcourse run ID --bundle DIR``)."""

    id: str
    package: str
    title: str
    lessons: tuple[Lesson, ...] = ()
    main: str | None = None
    reads_bundles: bool = False

    def module(self, lesson: Lesson) -> str:
        return f"{self.package}.{lesson.name}"

    @property
    def main_lesson(self) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.name == self.main), None)


STAGES: tuple[Stage, ...] = (
    Stage("1", "stage1_basics", "Basics: model, loss, gradient, optimizer, the loop", (
        Lesson("linear_regression", "Linear regression: the whole training loop on known data"),
        Lesson("autograd_tour", "Autograd on a scalar graph: backprop by hand vs backward()"),
        Lesson("manual_gradients", "Gradients and steps by hand, zero_grad, learning rates"),
    ), main="linear_regression"),
    Stage("2", "stage2_layers", "Layers, activations, gradients; an MLP on MNIST", (
        Lesson("layers_tour", "Layers, activations and their slopes, non-linearity, gradient flow"),
        Lesson("mlp_mnist", "A Linear+ReLU MLP on MNIST (offline: real digits resized to 28x28)"),
    ), main="mlp_mnist"),
    Stage("3", "stage3_text", "Text: tokens, embeddings, word2vec; an SMS spam classifier", (
        Lesson("tokens", "Text to tokens to ids: normalisation, vocabularies, padding, batches"),
        Lesson("embeddings", "One-hot vs dense embeddings; nn.Embedding as one-hot × W"),
        Lesson("word2vec", "Skip-gram with negative sampling on SMS text; nearest neighbours"),
        Lesson("spam_classifier", "SMS spam: embeddings + n-gram hashing vs a TF-IDF baseline"),
    ), main="spam_classifier"),
    Stage("4", "stage4_own_data", "Your own data: a pipeline, metrics and a model bundle", (
        Lesson("pipeline", "Read, clean, check, split, train, measure; write a model bundle"),
    ), main="pipeline"),
    Stage("5a", "stage5a_integration", "Integration: export, REST/gRPC service, app, benchmark", (
        Lesson("export", "Export to ONNX and TorchScript, check parity, record in the bundle"),
        Lesson("business_case", "Hours and money saved, cost of errors, break-even"),
    ), main="business_case", reads_bundles=True),
    Stage("5b", "stage5b_on_device", "On device: quantization, pruning, mobile formats", (
        Lesson("quantize", "int8 with torchao and ONNX Runtime: size, latency, quality, agreement"),
        Lesson("prune", "Magnitude pruning 30–90%, fine-tune, and why zeros only shrink gzip"),
        Lesson("export_mobile", "ORT, ExecuTorch, TorchScript lite, Core ML, TFLite + offline app"),
    ), main="export_mobile", reads_bundles=True),
)


def stage_ids() -> list[str]:
    return [stage.id for stage in STAGES]


def find_stage(stage_id: str) -> Stage:
    for stage in STAGES:
        if stage.id == stage_id:
            return stage
    raise KeyError(stage_id)

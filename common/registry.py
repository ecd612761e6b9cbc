"""The map of the course: stage ids, their packages, lessons and exercises, by module name only.

The CLI reads this and imports a lesson only when asked to run it, so ``mlcourse list`` never
imports torch. Each stage's issue adds its lessons here, in the order a learner runs them, and its
exercises from easy to hard: the stub in ``<stage>/exercises/<name>.py``, the reference answer in
``<stage>/solutions/<name>.py``, the check in ``<stage>/checks/<name>.py``. It is
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
class Exercise:
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
    exercises: tuple[Exercise, ...] = ()
    main: str | None = None
    reads_bundles: bool = False

    def module(self, lesson: Lesson) -> str:
        return f"{self.package}.{lesson.name}"

    @property
    def main_lesson(self) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.name == self.main), None)


@dataclass(frozen=True)
class ExerciseRef:
    """One exercise with its place in the course: id ``<stage id>.<n>``, e.g. ``1.1``, ``5a.2``."""

    id: str
    stage: Stage
    exercise: Exercise

    @property
    def title(self) -> str:
        return self.exercise.title

    def module(self, kind: str) -> str:
        """``kind`` is ``exercises`` (the stub), ``solutions`` or ``checks``."""
        return f"{self.stage.package}.{kind}.{self.exercise.name}"


STAGES: tuple[Stage, ...] = (
    Stage("1", "stage1_basics", "Basics: model, loss, gradient, optimizer, the loop", (
        Lesson("linear_regression", "Linear regression: the whole training loop on known data"),
        Lesson("autograd_tour", "Autograd on a scalar graph: backprop by hand vs backward()"),
        Lesson("manual_gradients", "Gradients and steps by hand, zero_grad, learning rates"),
    ), (
        Exercise("training_loop", "The training loop: forward, loss, zero_grad, backward, step"),
        Exercise("mse_gradients", "MSE gradients by hand in NumPy, equal to autograd"),
        Exercise("sgd_step", "One SGD step by hand, equal to optimizer.step()"),
        Exercise("learning_rate", "The largest learning rate that still converges"),
    ), main="linear_regression"),
    Stage("2", "stage2_layers", "Layers, activations, gradients; an MLP on MNIST", (
        Lesson("layers_tour", "Layers, activations and their slopes, non-linearity, gradient flow"),
        Lesson("mlp_mnist", "A Linear+ReLU MLP on MNIST (offline: real digits resized to 28x28)"),
    ), (
        Exercise("relu_function", "ReLU forward and backward as a torch.autograd.Function"),
        Exercise("digits_mlp", "A Linear+ReLU MLP that reaches 0.95 on the offline digits"),
        Exercise("vanishing_gradients", "How fast a sigmoid net's gradient vanishes with depth"),
    ), main="mlp_mnist"),
    Stage("3", "stage3_text", "Text: tokens, embeddings, word2vec; an SMS spam classifier", (
        Lesson("tokens", "Text to tokens to ids: normalisation, vocabularies, padding, batches"),
        Lesson("embeddings", "One-hot vs dense embeddings; nn.Embedding as one-hot × W"),
        Lesson("word2vec", "Skip-gram with negative sampling on SMS text; nearest neighbours"),
        Lesson("spam_classifier", "SMS spam: embeddings + n-gram hashing vs a TF-IDF baseline"),
    ), (
        Exercise("vocabulary", "A vocabulary: encode and decode with <unk> and <pad>"),
        Exercise("one_hot_embedding", "One-hot × W equals the embedding lookup"),
        Exercise("masked_mean", "Masked mean pooling that ignores padding"),
        Exercise("spam_filter", "A spam classifier that beats the stated F1 on the SMS data"),
    ), main="spam_classifier"),
    Stage("4", "stage4_own_data", "Your own data: a pipeline, metrics and a model bundle", (
        Lesson("pipeline", "Read, clean, check, split, train, measure; write a model bundle"),
    ), (
        Exercise("row_accounting", "Cleaning with exact row accounting"),
        Exercise("leak_free_split", "A train/test split with no duplicate leakage"),
        Exercise("precision_recall", "Precision and recall from a confusion matrix"),
        Exercise("recall_threshold", "The threshold that reaches a target recall"),
    ), main="pipeline"),
    Stage("5a", "stage5a_integration", "Integration: export, REST/gRPC service, app, benchmark", (
        Lesson("export", "Export to ONNX and TorchScript, check parity, record in the bundle"),
        Lesson("business_case", "Hours and money saved, cost of errors, break-even"),
    ), (
        Exercise("predict_endpoint", "A typed FastAPI /predict that answers 422 to empty text"),
        Exercise("onnx_export", "ONNX export with a dynamic batch and parity within 1e-4"),
        Exercise("business_case", "The business case: net value per month and break-even"),
    ), main="business_case", reads_bundles=True),
    Stage("5b", "stage5b_on_device", "On device: quantization, pruning, mobile formats", (
        Lesson("quantize", "int8 with torchao and ONNX Runtime: size, latency, quality, agreement"),
        Lesson("prune", "Magnitude pruning 30–90%, fine-tune, and why zeros only shrink gzip"),
        Lesson("export_mobile", "ORT, ExecuTorch, TorchScript lite, Core ML, TFLite + offline app"),
    ), (
        Exercise("int8_quantization", "Dynamic int8 quantization to at most 30% of the size"),
        Exercise("magnitude_pruning", "Magnitude pruning of a tensor to a given sparsity"),
        Exercise("offline_classifier", "A torch-free offline classifier"),
    ), main="export_mobile", reads_bundles=True),
)


def stage_ids() -> list[str]:
    return [stage.id for stage in STAGES]


def exercises() -> list[ExerciseRef]:
    """Every exercise, stage by stage, easy to hard."""
    return [ExerciseRef(f"{stage.id}.{number}", stage, exercise)
            for stage in STAGES
            for number, exercise in enumerate(stage.exercises, start=1)]


def find_exercise(exercise_id: str) -> ExerciseRef:
    for ref in exercises():
        if ref.id == exercise_id:
            return ref
    raise KeyError(exercise_id)


def find_stage(stage_id: str) -> Stage:
    for stage in STAGES:
        if stage.id == stage_id:
            return stage
    raise KeyError(stage_id)

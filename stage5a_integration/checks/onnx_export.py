"""Checks for exercise 5a.2: a self-contained ONNX file, dynamic batch, parity within 1e-4."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from common.checks import check, expect

PARITY_TOLERANCE = 1e-4
BATCHES = (1, 3, 64)


class Scorer(nn.Module):
    """20 features → 3 logits, with dropout: exported in training mode it would not match."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.5),
                                    nn.Linear(32, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def fresh_model() -> Scorer:
    torch.manual_seed(0)
    return Scorer()


@cache
def exported(learner: ModuleType) -> tuple[Path, bool]:
    """Export once per learner into an empty folder; the file alone is then copied elsewhere."""
    model = fresh_model()  # in training mode, as a model is right after training
    before = {name: value.clone() for name, value in model.state_dict().items()}
    folder = Path(tempfile.mkdtemp(prefix="mlcourse-onnx-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learner.export_onnx(model, folder / "model.onnx")
    expect((folder / "model.onnx").is_file(), expected="a file at the path given",
           seen=f"{sorted(p.name for p in folder.iterdir())}")
    alone = Path(tempfile.mkdtemp(prefix="mlcourse-onnx-alone-")) / "model.onnx"
    shutil.copyfile(folder / "model.onnx", alone)
    untouched = model.training and all(torch.equal(before[name], value)
                                       for name, value in model.state_dict().items())
    return alone, untouched


def session(learner: ModuleType):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    path, _ = exported(learner)
    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT's own error types differ between versions
        expect(False, expected="the file alone to load in ONNX Runtime",
               seen=str(error).splitlines()[0][:160],
               hint="save the weights inside the file: program.save(path, external_data=False)")
        raise


@check("the file alone loads in ONNX Runtime, input 'features', output 'logits'",
       hint="input_names=['features'], output_names=['logits'], and save with "
            "external_data=False so no .onnx.data file is needed")
def loads_alone(learner: ModuleType) -> None:
    runner = session(learner)
    inputs = [i.name for i in runner.get_inputs()]
    outputs = [o.name for o in runner.get_outputs()]
    expect(inputs == ["features"] and outputs == ["logits"],
           expected="inputs ['features'], outputs ['logits']",
           seen=f"inputs {inputs}, outputs {outputs}")


@check(f"runs for batches of {', '.join(map(str, BATCHES))} rows",
       hint="export with an example batch of 2 or more and dynamic_shapes={'x': {0: "
            "torch.export.Dim('batch')}}: a fixed shape only accepts the example's batch")
def dynamic_batch(learner: ModuleType) -> None:
    runner = session(learner)
    for batch in BATCHES:
        features = np.zeros((batch, 20), dtype=np.float32)
        try:
            (logits,) = runner.run(["logits"], {"features": features})
        except Exception as error:
            expect(False, expected=f"logits of shape ({batch}, 3)",
                   seen=str(error).splitlines()[0][:160])
        expect(logits.shape == (batch, 3), expected=f"shape ({batch}, 3)",
               seen=f"{logits.shape}")


@check(f"the logits equal PyTorch's eval-mode logits within {PARITY_TOLERANCE:g}",
       hint="export model.eval() (a copy of it): in training mode dropout is exported too")
def parity(learner: ModuleType) -> None:
    runner = session(learner)
    features = torch.randn(64, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = fresh_model().eval()(features).numpy()
    (logits,) = runner.run(["logits"], {"features": features.numpy()})
    gap = float(np.abs(logits - expected).max())
    expect(gap <= PARITY_TOLERANCE, expected=f"max |difference| <= {PARITY_TOLERANCE:g}",
           seen=f"{gap:.3g}")


@check("the model given is left as it was (still training mode, same weights)",
       hint="export a copy (copy.deepcopy(model).eval()): the caller may go on training")
def model_untouched(learner: ModuleType) -> None:
    _, untouched = exported(learner)
    expect(untouched, expected="model.training still True and the weights unchanged",
           seen="the model was changed")

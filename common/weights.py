"""Saving a model's weights as safetensors: tensors only, no pickled code, readable by anyone.

One helper for every lesson that writes weights (stage 2's MLP, stage 3's classifier, stage 4's
bundle, stage 5b's pruned models), so they are all written the same way.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import save_file
from torch import nn


def save_safetensors(model: nn.Module, path: Path, metadata: dict[str, str] | None = None
                     ) -> Path:
    """Write ``model``'s state dict to ``path`` (on the CPU, contiguous), readable by all.

    ``metadata`` is safetensors' string-to-string header: what is needed to rebuild the model.
    """
    state = {name: tensor.detach().cpu().contiguous()
             for name, tensor in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata)
    path.chmod(0o644)  # safetensors writes it private; weights are meant to be shared
    return path

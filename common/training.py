"""The one training loop of the course: forward → loss → backward → step.

Stage 1 writes this loop out by hand (``stage1_basics.linear_regression.train``); from stage 2 on
every stage trains through :func:`fit`, the same loop lifted into a function, so a learner reads
it once and recognises it everywhere. Data comes as an iterable of batches; each batch is a tuple
whose last element is the target and whose other elements are the model's inputs
(``model(*inputs)``).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from common import distributed
from common.errors import NonFiniteLossError

Batch = Sequence[torch.Tensor]
__all__ = ["NonFiniteLossError", "RaggedBatches", "TensorBatches", "adam", "evaluate", "fit",
           "train_one_epoch"]
MetricFn = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]


class TensorBatches:
    """Mini-batches cut from tensors already in memory: no per-sample work in the hot loop.

    Re-iterable: each pass over it is one epoch, reshuffled with ``generator`` when ``shuffle``.
    :meth:`shard` gives one process of several its part of every batch.
    """

    def __init__(
        self,
        *tensors: torch.Tensor | RaggedColumn,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs tensors of one common length")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.rank, self.world_size = 0, 1

    def shard(self, rank: int, world_size: int) -> TensorBatches:
        """The same batches, of which this process (``rank`` of ``world_size``) takes its part.

        Batch k keeps its ``batch_size`` examples, split into ``world_size`` contiguous parts
        whose sizes differ by at most one; together the processes see exactly the batches one
        process would (every process shuffles alike from the same seed). A last batch too small to
        give every process an example joins the batch before it, so no process is ever idle.
        """
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not one of {world_size} processes")
        if len(self.tensors[0]) < world_size:
            raise ValueError(f"{len(self.tensors[0])} examples cannot be shared among "
                             f"{world_size} processes")
        part = copy.copy(self)
        part.rank, part.world_size = rank, world_size
        return part

    def _bounds(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each batch in the epoch's order of examples."""
        n = len(self.tensors[0])
        bounds = [(start, min(start + self.batch_size, n))
                  for start in range(0, n, self.batch_size)]
        if self.world_size > 1 and len(bounds) > 1 \
                and bounds[-1][1] - bounds[-1][0] < self.world_size:
            tail = bounds.pop()
            bounds[-1] = (bounds[-1][0], tail[1])
        return bounds

    def _part(self, start: int, stop: int) -> tuple[int, int]:
        """This process's contiguous part of the batch ``[start, stop)``."""
        if self.world_size == 1:
            return start, stop
        base, extra = divmod(stop - start, self.world_size)
        first = start + self.rank * base + min(self.rank, extra)
        return first, first + base + (self.rank < extra)

    def __len__(self) -> int:
        return len(self._bounds())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = (torch.randperm(len(self.tensors[0]), generator=self.generator)
                 if self.shuffle else None)
        for start, stop in self._bounds():
            first, last = self._part(start, stop)
            yield self._batch(slice(first, last) if order is None else order[first:last])

    def _batch(self, index: slice | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The examples ``index`` (a slice, or positions in the epoch's order) of every tensor."""
        return tuple(t[index] for t in self.tensors)


@runtime_checkable
class RaggedColumn(Protocol):
    """Rows of ids of different lengths, laid end to end (``common.bundle.textprep.RaggedIds``)."""

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> RaggedColumn: ...

    def padded(self) -> np.ndarray: ...


class RaggedBatches(TensorBatches):
    """:class:`TensorBatches` whose inputs are ragged id columns, padded one batch at a time.

    A whole data set padded to its longest row is mostly padding (500,000 texts × 1,024 n-gram
    ids in int64 is 4 GB); kept flat in a small integer type it is a tenth of that, and each
    batch is padded only to its own longest row. Batches, order and sharding are exactly
    :class:`TensorBatches`' (same seed, same batches), so the two give the same training.
    """

    def _batch(self, index: slice | torch.Tensor) -> tuple[torch.Tensor, ...]:
        rows = np.arange(index.start, index.stop) if isinstance(index, slice) else index.numpy()
        return tuple(torch.from_numpy(t.take(rows).padded()) if isinstance(t, RaggedColumn)
                     else t[index] for t in self.tensors)


def adam(parameters: Iterable[nn.Parameter], *, lr: float, device: torch.device,
         weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam, fused into one kernel where PyTorch has one (CPU, CUDA): the same update rule.

    The unfused step walks every weight a dozen times; on a text model's embedding tables
    (1.7 million weights) it took 32 ms a step here, the fused one 3.5 ms.
    """
    return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay,
                            fused=device.type in ("cpu", "cuda"))


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float | None = None
    val_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the epoch, training and validation


@dataclass
class History:
    """What :func:`fit` saw, epoch by epoch; the source of every loss curve."""

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def train_losses(self) -> list[float]:
        return [r.train_loss for r in self.records]

    @property
    def val_losses(self) -> list[float]:
        return [r.val_loss for r in self.records if r.val_loss is not None]

    @property
    def final_train_loss(self) -> float:
        return self.records[-1].train_loss

    @property
    def seconds(self) -> float:
        """Wall time of all epochs: the figure to compare between 1 and N processes."""
        return sum(r.seconds for r in self.records)


@dataclass
class Evaluation:
    loss: float
    outputs: torch.Tensor
    targets: torch.Tensor


def _to_device(batch: Batch, device: torch.device) -> list[torch.Tensor]:
    return [t.to(device, non_blocking=True) for t in batch]


def train_one_epoch(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    batches: Iterable[Batch],
    device: torch.device,
    *,
    epoch: int = 1,
    max_grad_norm: float | None = None,
) -> float:
    """One pass over the data; returns the mean training loss per example (over all processes)."""
    model.train()
    total, count = 0.0, 0
    for step, batch in enumerate(batches, start=1):
        *inputs, target = _to_device(batch, device)
        outputs = model(*inputs)  # 1. forward: the model is a function of inputs and weights
        loss = loss_fn(outputs, target)  # 2. loss: how wrong the outputs are
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"the loss became {value} at epoch {epoch}, step {step}: training diverged "
                "(try a smaller learning rate)"
            )
        optimizer.zero_grad(set_to_none=True)  # gradients accumulate unless cleared
        loss.backward()  # 3. backward: d(loss)/d(weight) for every weight
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()  # 4. step: move every weight a little against its gradient
        total += value * len(target)
        count += len(target)
    if count == 0:
        raise ValueError("no training batches: the training set is empty")
    sums = distributed.all_gather((total, count))
    return sum(t for t, _ in sums) / sum(c for _, c in sums)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batches: Iterable[Batch],
    device: torch.device,
) -> Evaluation:
    """Mean loss over ``batches`` plus every output, for metrics computed afterwards."""
    model.eval()
    total, count = 0.0, 0
    outputs, targets = [], []
    for batch in batches:
        *inputs, target = _to_device(batch, device)
        output = model(*inputs)
        total += loss_fn(output, target).item() * len(target)
        count += len(target)
        outputs.append(output.cpu())
        targets.append(target.cpu())
    if count == 0:
        raise ValueError("no evaluation batches: the evaluation set is empty")
    return Evaluation(total / count, torch.cat(outputs), torch.cat(targets))


def fit(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    train_batches: Iterable[Batch],
    *,
    epochs: int,
    device: torch.device,
    val_batches: Iterable[Batch] | None = None,
    val_metrics: MetricFn | None = None,
    patience: int | None = None,
    max_grad_norm: float | None = None,
    progress: bool = True,
    desc: str = "training",
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> History:
    """Train for ``epochs`` passes; validate after each when ``val_batches`` is given.

    With ``patience``, stop once the validation loss has not improved for that many epochs and
    restore the weights of the best epoch (early stopping). ``on_epoch`` sees each finished
    epoch (lessons use it to print the loss as it falls).

    Under ``torchrun`` (see :mod:`common.distributed`) every process runs this same call: the
    model is wrapped in ``DistributedDataParallel``, each process takes its part of every batch
    (``TensorBatches.shard``; an iterable without ``shard`` must already be the process's own
    share), the gradients are averaged, and the losses are summed over all processes, so every
    process makes the same early-stopping decisions. Only rank 0 shows the progress bar.
    """
    if epochs < 1:
        raise ValueError("epochs must be at least 1")
    if patience is not None and val_batches is None:
        raise ValueError("early stopping (patience) needs validation batches")
    device = distributed.setup(device)
    model.to(device)
    network = _parallel(model, device)
    train_batches = _own_share(train_batches)
    val_batches = None if val_batches is None else _own_share(val_batches)
    history = History()
    best_loss, best_state, waited = math.inf, None, 0
    # disable=None lets tqdm hide the bar when stderr is not a terminal (CI logs, pipes).
    shown = progress and distributed.is_main_process()
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=None if shown else True)
    for epoch in bar:
        started = time.perf_counter()
        train_loss = train_one_epoch(
            network, loss_fn, optimizer, train_batches, device,
            epoch=epoch, max_grad_norm=max_grad_norm,
        )
        record = EpochRecord(epoch, train_loss)
        if val_batches is not None:
            result = _evaluate_everywhere(model, loss_fn, val_batches, device)
            record.val_loss = result.loss
            if val_metrics is not None:
                record.val_metrics = val_metrics(result.outputs, result.targets)
        record.seconds = time.perf_counter() - started
        history.records.append(record)
        bar.set_postfix(_postfix(record))
        if on_epoch is not None:
            on_epoch(record)
        if patience is not None and record.val_loss is not None:
            if record.val_loss < best_loss:
                best_loss, waited, history.best_epoch = record.val_loss, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
                if waited >= patience:
                    history.stopped_early = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel`` around ``model`` when several processes train, else ``model``.

    DDP copies rank 0's weights to every process once, then averages the gradients during each
    ``backward()``; ``model`` itself (the same parameters) is what callers keep and save.
    """
    if not distributed.is_distributed():
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


def _own_share(batches: Iterable[Batch]) -> Iterable[Batch]:
    """This process's part of ``batches``: the whole of them with one process.

    Batches that can split themselves (a ``shard(rank, world_size)`` method, as
    :class:`TensorBatches` has) are split; any other iterable is taken as this process's share.
    """
    shard = getattr(batches, "shard", None)
    if not distributed.is_distributed() or shard is None:
        return batches
    return shard(distributed.rank(), distributed.world_size())


def _evaluate_everywhere(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batches: Iterable[Batch],
    device: torch.device,
) -> Evaluation:
    """:func:`evaluate` on this process's share, combined over all processes in rank order.

    Every process gets the same loss and the outputs of every example (aligned with their
    targets), so metrics and early stopping agree everywhere.
    """
    local = evaluate(model, loss_fn, batches, device)
    if not distributed.is_distributed():
        return local
    parts = distributed.all_gather((local.loss * len(local.targets), local.outputs,
                                    local.targets))
    targets = torch.cat([part[2] for part in parts])
    return Evaluation(sum(part[0] for part in parts) / len(targets),
                      torch.cat([part[1] for part in parts]), targets)


def _postfix(record: EpochRecord) -> dict[str, str]:
    shown = {"loss": f"{record.train_loss:.4f}"}
    if record.val_loss is not None:
        shown["val_loss"] = f"{record.val_loss:.4f}"
    shown.update({k: f"{v:.3f}" for k, v in record.val_metrics.items()})
    return shown


def log_epoch(record: EpochRecord) -> None:
    """Print one line per epoch (pass as ``fit(on_epoch=log_epoch)``) without breaking the bar.

    Only rank 0 prints: the other processes of a ``torchrun`` run would repeat the same line.
    """
    if not distributed.is_main_process():
        return
    shown = "  ".join(f"{name} {value}" for name, value in _postfix(record).items())
    tqdm.write(f"epoch {record.epoch:>3}  {shown}")

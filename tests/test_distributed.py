"""The one loop on several processes (fit under torchrun): the same result as one process."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from common import distributed
from common.errors import UsageError
from common.seed import seed_everything
from common.summary import validate
from common.training import TensorBatches, fit

ROOT = Path(__file__).resolve().parent.parent
TORCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(autouse=True)
def one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as a plain single process, whatever launched pytest."""
    for name in TORCH_ENV:
        monkeypatch.delenv(name, raising=False)


# --- one process: today's behaviour, pinned -------------------------------------------------
def test_single_process_batch_order_is_unchanged() -> None:
    batches = TensorBatches(torch.arange(10), batch_size=4, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
    assert [batch[0].tolist() for batch in batches] == [[4, 1, 7, 5], [3, 9, 0, 8], [6, 2]]


def test_single_process_losses_are_unchanged() -> None:
    """The losses of a seeded run, recorded before fit learned to run on several processes."""
    generator = seed_everything(0)
    x = torch.randn(96, 5)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    history = fit(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  TensorBatches(x, y, batch_size=16, shuffle=True, generator=generator),
                  epochs=3, device=torch.device("cpu"),
                  val_batches=TensorBatches(x[:32], y[:32], batch_size=10), progress=False)
    assert history.train_losses == pytest.approx(
        [0.7022304038206736, 0.6307001312573751, 0.5725960284471512], rel=1e-5)
    assert history.val_losses == pytest.approx(
        [0.6502876728773117, 0.5912897400557995, 0.5371488761156797], rel=1e-5)


# --- sharding -------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "batch_size", "world"), [(10, 4, 2), (96, 16, 2), (11, 4, 3),
                                                        (9, 4, 2), (7, 3, 2)])
def test_shards_together_make_the_single_process_batches(n: int, batch_size: int,
                                                         world: int) -> None:
    def batches(rank: int | None) -> list[list[int]]:
        whole = TensorBatches(torch.arange(n), batch_size=batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(3))
        part = whole if rank is None else whole.shard(rank, world)
        return [[int(i) for i in batch[0]] for batch in part]

    single = batches(None)
    parts = [batches(rank) for rank in range(world)]
    assert len({len(p) for p in parts}) == 1, "every process must take the same number of steps"
    joined = [list(itertools.chain(*(p[k] for p in parts))) for k in range(len(parts[0]))]
    assert list(itertools.chain(*joined)) == list(itertools.chain(*single)), \
        "no example lost, repeated or reordered"
    assert all(len(p[k]) >= 1 for p in parts for k in range(len(p)))
    sizes = [[len(p[k]) for p in parts] for k in range(len(parts[0]))]
    assert all(max(s) - min(s) <= 1 for s in sizes)
    if (n % batch_size or batch_size) >= world:  # no tail merged: the very same batches
        assert joined == single


def test_a_tail_smaller_than_the_processes_joins_the_batch_before() -> None:
    whole = TensorBatches(torch.arange(9), batch_size=4)
    assert [len(b[0]) for b in whole] == [4, 4, 1]
    assert [len(b[0]) for b in whole.shard(0, 2)] == [2, 3]
    assert [b[0].tolist() for b in whole.shard(1, 2)] == [[2, 3], [7, 8]]
    assert len(whole.shard(1, 2)) == 2 and len(whole) == 3


def test_shard_refuses_what_cannot_be_shared() -> None:
    with pytest.raises(ValueError, match="cannot be shared"):
        TensorBatches(torch.arange(2), batch_size=4).shard(0, 3)
    with pytest.raises(ValueError, match="not one of"):
        TensorBatches(torch.arange(8), batch_size=4).shard(2, 2)


# --- the environment torchrun sets ---------------------------------------------------------
def test_environment_read_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (distributed.world_size(), distributed.rank(), distributed.is_main_process()) == \
        (1, 0, True)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setattr(distributed, "available_cores", lambda: 8)
    assert distributed.is_distributed() and not distributed.is_main_process()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torchrun's default: replaced
    assert distributed.threads_per_process() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice: kept
    assert distributed.threads_per_process() == 3
    monkeypatch.setenv("RANK", "three")
    with pytest.raises(UsageError, match="RANK='three'"):
        distributed.rank()


# --- only rank 0 prints and writes ---------------------------------------------------------
def test_only_rank_0_prints_the_report(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from common.lesson import lesson_main, lesson_parser
    from common.summary import LessonSummary

    def run(args) -> LessonSummary:
        print("a line of the lesson")
        return LessonSummary("stage2_layers", "mlp_mnist", "tool")

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert lesson_main(lesson_parser("m", "d"), run, ["--json"]) == 0
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("RANK", "0")
    assert lesson_main(lesson_parser("m", "d"), run, ["--json"]) == 0
    printed = capsys.readouterr().out
    assert "a line of the lesson" in printed and "on 2 processes" in printed
    assert json.loads(printed.splitlines()[-1])["world_size"] == 2


def test_only_rank_0_stages_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.bundle.files import replace_directory
    from stage4_own_data.pipeline import bundle_staging

    out = tmp_path / "bundle"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with bundle_staging(replace_directory(out, lambda _: True)) as staging:
        (staging / "model.safetensors").write_text("rank 1's copy")
    assert not staging.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.setenv("RANK", "0")
    with bundle_staging(replace_directory(out, lambda _: True)) as staging:
        (staging / "model.safetensors").write_text("rank 0's copy")
    assert (out / "model.safetensors").read_text() == "rank 0's copy"


# --- two processes on loopback (gloo) equal one with the same global batch ------------------
def _data() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(160, 6, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x[:128], y[:128], x[128:], y[128:]


def _train(result_path: Path) -> None:
    """The same call with any number of processes: only the environment tells them apart."""
    generator = seed_everything(0)
    train_x, train_y, val_x, val_y = _data()
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = {"examples": 0}

    def counted_loss(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seen["examples"] += len(target)
        return nn.functional.cross_entropy(outputs, target)

    history = fit(model, counted_loss, torch.optim.Adam(model.parameters(), lr=0.01),
                  TensorBatches(train_x, train_y, batch_size=16, shuffle=True,
                                generator=generator),
                  epochs=5, device=torch.device("cpu"),
                  val_batches=TensorBatches(val_x, val_y, batch_size=10),
                  val_metrics=lambda out, t: {"acc": (out.argmax(1) == t).float().mean().item()},
                  patience=2, progress=False)
    torch.save({"state": model.state_dict(), "val_losses": history.val_losses,
                "train_losses": history.train_losses, "seen": seen["examples"],
                "val_metrics": [r.val_metrics for r in history.records]}, result_path)


def _train_stage4(result_path: Path) -> None:
    """Stage 4's training on the shipped inbox, without the two things DDP cannot reproduce.

    Dropout draws its masks per process, and class weights make each process's loss a weighted
    mean of its own part, whose average is not the weighted mean of the whole batch.
    """
    from stage4_own_data.cleaning import clean
    from stage4_own_data.columns import choose_columns
    from stage4_own_data.pipeline import DEFAULT_INPUT
    from stage4_own_data.reading import read_table
    from stage4_own_data.splitting import split_data
    from stage4_own_data.train import QUICK_SETTINGS, train_model, training_config

    table = read_table(DEFAULT_INPUT, sep=None, header=None, encoding=None)
    columns = choose_columns(table, None, None, task="classification")
    cleaned = clean(table.values(columns.text), table.values(columns.label),
                    task="classification", malformed_rows=table.malformed_rows)
    splits = split_data(cleaned, task="classification", seed=0)
    training = replace(training_config(quick=True, epochs=6, lr=2e-2, batch_size=32,
                                       patience=3, rows=len(splits.train)), balanced=False)
    trained = train_model(splits, task="classification",
                          settings=replace(QUICK_SETTINGS, dropout=0.0), training=training,
                          generator=seed_everything(0), device=torch.device("cpu"))
    torch.save({"state": trained.model.state_dict(), "val_losses": trained.history.val_losses},
               result_path)


def _worker(rank: int, world: int, port: int, folder: str, job: Callable[[Path], None]) -> None:
    os.environ.update({"WORLD_SIZE": str(world), "RANK": str(rank), "LOCAL_RANK": str(rank),
                       "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})
    job(Path(folder) / f"rank{rank}.pt")


def _one_and_two(folder: Path, job: Callable[[Path], None]) -> tuple[dict, list[dict]]:
    """``job`` on two processes (gloo on loopback), then on this one: their saved results."""
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(folder), job), nprocs=2)
    job(folder / "single.pt")
    single, *ranks = (torch.load(folder / f"{name}.pt") for name in ("single", "rank0", "rank1"))
    return single, ranks


def _assert_same_weights(single: dict, ranks: list[dict], tolerance: float) -> None:
    for name, value in single["state"].items():
        for part in ranks:
            torch.testing.assert_close(part["state"][name], value, rtol=0, atol=tolerance)
        assert torch.equal(ranks[0]["state"][name], ranks[1]["state"][name]), \
            "the processes must hold the very same weights"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.timeout(180)
def test_two_processes_equal_one_with_the_same_global_batch(tmp_path: Path) -> None:
    single, ranks = _one_and_two(tmp_path, _train)
    _assert_same_weights(single, ranks, 1e-6)
    for part in ranks:
        assert part["val_losses"] == pytest.approx(single["val_losses"], abs=1e-6)
        assert part["train_losses"] == pytest.approx(single["train_losses"], abs=1e-6)
        assert part["val_metrics"] == single["val_metrics"]
        assert part["seen"] * 2 == single["seen"], "each process must see half of the examples"


# --- the lesson under torchrun --------------------------------------------------------------
def _lesson_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, "only rank 0 may print the JSON summary"
    document = json.loads(stdout.strip().splitlines()[-1])
    validate(document)
    return document


def _clean_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in TORCH_ENV:
        env.pop(name, None)
    return env


def _mlp_mnist(out: Path, processes: int, *flags: str, exits: tuple[int, ...] = (0,),
               threads: int | None = None) -> dict:
    """``stage2_layers.mlp_mnist`` on the CPU, plain (1) or under torchrun: its JSON summary."""
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone",
                                          "--nproc-per-node", str(processes)]
    env = _clean_env()
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, *launcher, "-m", "stage2_layers.mlp_mnist", "--json", "--device", "cpu",
         "--out", str(out), *flags], capture_output=True, text=True, env=env, timeout=550)
    assert done.returncode in exits, done.stderr[-2000:]
    return _lesson_json(done.stdout)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_mlp_mnist_under_torchrun_matches_one_process(tmp_path: Path) -> None:
    one = _mlp_mnist(tmp_path / "one", 1, "--quick")
    two = _mlp_mnist(tmp_path / "two", 2, "--quick")
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert abs(one["metrics"]["test_accuracy"] - two["metrics"]["test_accuracy"]) <= 0.01
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        Path(p).name for p in two["outputs"])


@pytest.mark.bench
@pytest.mark.timeout(1200)
def test_bench_training_time_on_one_and_two_processes(tmp_path: Path) -> None:
    """The figure the stage 2 guide quotes: the same training on 1 and 2 CPU processes.

    One process with torch's default threads (all cores), one process with one thread, and two
    processes (one thread each on 2 cores): the middle row tells DDP's own cost apart from the
    cost of threads. 10 epochs: the accuracy bar of the full run (exit 1) does not apply.
    """
    cores = distributed.available_cores()
    setups = {f"1 x {cores} threads": (1, None), "1 x 1 thread": (1, 1),
              f"2 x {max(1, cores // 2)} thread(s)": (2, None)}
    runs = {name: _mlp_mnist(tmp_path / str(index), processes, "--epochs", "10", exits=(0, 1),
                             threads=threads)
            for index, (name, (processes, threads)) in enumerate(setups.items())}
    first = next(iter(runs.values()))
    print(f"\nmlp_mnist --epochs 10 on {cores} cores ({first['dataset']}, batch 64 in all)")
    print(f"{'processes x threads':<22}{'train s':>9}{'vs first':>10}{'lesson s':>10}"
          f"{'test acc':>10}")
    for name, run in runs.items():
        seconds = run["metrics"]["train_seconds"]
        print(f"{name:<22}{seconds:>9.2f}{first['metrics']['train_seconds'] / seconds:>9.2f}x"
              f"{run['seconds']:>10.1f}{run['metrics']['test_accuracy']:>10.4f}")
    accuracies = [run["metrics"]["test_accuracy"] for run in runs.values()]
    assert max(accuracies) - min(accuracies) <= 0.01


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_stage4_training_on_two_processes_equals_one(tmp_path: Path) -> None:
    single, ranks = _one_and_two(tmp_path, _train_stage4)
    _assert_same_weights(single, ranks, 1e-5)
    for part in ranks:
        assert part["val_losses"] == pytest.approx(single["val_losses"], abs=1e-6)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_stage4_pipeline_under_torchrun_writes_one_bundle(tmp_path: Path) -> None:
    from common.bundle import load_bundle

    out = tmp_path / "runs" / "bundle"
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "stage4_own_data.pipeline", "--quick", "--json", "--device", "cpu",
         "--out", str(out)],
        capture_output=True, text=True, env=_clean_env(), timeout=500, cwd=tmp_path)
    assert launched.returncode == 0, launched.stderr[-2000:]
    document = _lesson_json(launched.stdout)
    assert document["world_size"] == 2 and document["passed"]
    assert [p.name for p in out.parent.iterdir()] == ["bundle"], "no other rank's folder left"
    assert load_bundle(out).manifest["model_version"] == document["model_version"]

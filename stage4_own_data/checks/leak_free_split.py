"""Checks for exercise 4.2: no duplicate leakage, full coverage, size, labels, seed."""

from __future__ import annotations

import random
from types import ModuleType

from common.checks import check, expect


def messages() -> tuple[list[str], list[str]]:
    """300 rows; many texts repeat, some with other case or spaces (the same message)."""
    generator = random.Random(0)
    texts, labels = [], []
    for number in range(120):
        label = "spam" if number % 4 == 0 else "ham"
        text = f"{'WIN a prize' if label == 'spam' else 'see you at'} {number}"
        for _ in range(generator.choice([1, 1, 2, 3, 4])):
            texts.append(generator.choice([text, text.upper(), f"  {text} "]))
            labels.append(label)
    order = list(range(len(texts)))
    generator.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


def parts(learner: ModuleType, seed: int = 0) -> tuple[list[int], list[int]]:
    texts, labels = messages()
    result = learner.split(texts, labels, 0.2, seed)
    expect(isinstance(result, tuple | list) and len(result) == 2,
           expected="a pair (train indices, test indices)", seen=repr(result)[:80])
    return [int(i) for i in result[0]], [int(i) for i in result[1]]


@check("every row is in exactly one part",
       hint="split the groups, then give every row of a group to its group's side")
def covers_every_row(learner: ModuleType) -> None:
    train, test = parts(learner)
    total = len(messages()[0])
    expect(sorted(train + test) == list(range(total)),
           expected=f"indices 0..{total - 1}, each once",
           seen=f"{len(train)} + {len(test)} indices, {len(set(train) | set(test))} distinct")


@check("no text is in both parts (after strip().lower())",
       hint="group the rows by text.strip().lower() and split the groups, not the rows "
            "(sklearn's GroupShuffleSplit or StratifiedGroupKFold do it)")
def no_leakage(learner: ModuleType) -> None:
    texts, _ = messages()
    train, test = parts(learner)
    shared = {texts[i].strip().lower() for i in train} & {texts[i].strip().lower() for i in test}
    expect(not shared, expected="0 texts on both sides",
           seen=f"{len(shared)} texts on both sides, e.g. {sorted(shared)[:2]}")


@check("the test part holds 20% of the rows (within 5 points), both labels in each part",
       hint="stratify by label while keeping groups whole (StratifiedGroupKFold with 5 folds "
            "takes one fold for 20%)")
def size_and_labels(learner: ModuleType) -> None:
    texts, labels = messages()
    train, test = parts(learner)
    share = len(test) / len(texts)
    expect(abs(share - 0.2) <= 0.05, expected="a test share of 0.15 to 0.25",
           seen=f"{share:.3f}")
    for name, part in (("train", train), ("test", test)):
        seen = {labels[i] for i in part}
        expect(seen == {"ham", "spam"}, expected=f"ham and spam in {name}", seen=f"{seen}")


@check("the same seed gives the same split, another seed another one",
       hint="pass the seed to the shuffling (random_state=seed); do not use the global random")
def reproducible(learner: ModuleType) -> None:
    first, again, other = parts(learner, 0), parts(learner, 0), parts(learner, 1)
    expect(first == again, expected="identical splits for seed 0", seen="different ones")
    expect(first != other, expected="a different split for seed 1", seen="the same one")

"""Generate a large labelled inbox CSV, with known bad rows, to try the pipeline at scale.

    python -m stage4_own_data.generate_messages --rows 500000 --out runs/big
    python -m stage4_own_data.pipeline --input runs/big/messages_500000.csv

The messages are composed, not copied: for each class, templates in English and Russian with
slots (products, amounts, order numbers, dates, names), optional greetings and sign-offs, random
capitals and typos, so no two rows are alike unless a duplicate is planted on purpose; 3% carry a
wrong label, as real inboxes do. A share
of rows is broken the way real exports are (no text, no label, an extra field, the same message
twice, a text far too long); how many of each is written beside the CSV as
``<name>.expected.json``, so a test can check that the pipeline's accounting is exact.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from common.lesson import lesson_main, lesson_parser, positive_int
from common.paths import runs_dir
from common.summary import LessonSummary

CLASSES = {
    "billing": (
        "I was charged {amount} twice for order {order}, please refund one of them",
        "Why did my invoice for {month} go up to {amount}? Nothing changed on my plan",
        "The card ending {card} was declined but the money left my account",
        "Can I get a receipt with my company name for payment {order}?",
        "Please cancel the renewal, I did not agree to pay {amount} for another year",
        "Меня списали {amount} дважды за заказ {order}, верните деньги",
        "Пришёл счёт за {month} на {amount}, хотя тариф я не менял",
        "Нужен закрывающий документ на оплату {order} для бухгалтерии",
    ),
    "technical": (
        "The {product} app crashes every time I open the {screen} screen",
        "Getting error {code} when I try to sync, tried reinstalling already",
        "Since the update on {date} the {product} page loads forever on {device}",
        "Export to PDF gives a blank file, version {version} on {device}",
        "Notifications stopped working on my {device} after {date}",
        "Приложение {product} вылетает при открытии раздела {screen}",
        "Ошибка {code} при синхронизации, переустановка не помогла",
        "После обновления {version} на {device} ничего не грузится",
    ),
    "account": (
        "How do I change the email on my account to {email}?",
        "I can't log in, the reset link for {email} never arrives",
        "Please delete my account and all my data, username {user}",
        "I want to add {name} as a second user on the {product} plan",
        "Two-factor codes go to my old phone number, how do I switch it?",
        "Как сменить почту в профиле на {email}?",
        "Не приходит письмо для сброса пароля на {email}",
        "Удалите мой аккаунт {user} и все данные, пожалуйста",
    ),
    "shipping": (
        "Order {order} still says processing, it has been {days} days",
        "The parcel arrived damaged, the {item} box was crushed",
        "Tracking for {order} has not moved since {date}, where is it?",
        "Can you ship to {city}? The checkout does not list it",
        "I received a {item} but ordered two, order {order}",
        "Заказ {order} висит в обработке уже {days} дней",
        "Посылка пришла помятой, коробка с {item} разбита",
        "Доставляете ли вы в {city}? В корзине нет такого города",
    ),
    "feature_request": (
        "It would be great if {product} had a dark mode for the {screen} screen",
        "Please add an export to CSV, we need it for {days} reports a month",
        "Could you let me schedule messages, like {date} at {time}?",
        "A keyboard shortcut for {screen} would save me a lot of clicks",
        "Сделайте тёмную тему для раздела {screen}",
        "Добавьте выгрузку в CSV, очень нужно для отчётов",
        "Хочу планировать отправку, например на {date} в {time}",
    ),
    "spam": (
        "Congratulations {name}! You won a {item}, claim it at {url} within {days} hours",
        "Your account {user} is locked, verify now at {url} or lose access",
        "Earn {amount} a week from home, no experience needed, reply YES",
        "Cheap {item} 90% off today only!!! {url}",
        "Поздравляем, {name}! Вы выиграли {item}, заберите приз на {url}",
        "Ваш аккаунт {user} заблокирован, подтвердите данные на {url}",
        "Заработок от {amount} в неделю без вложений, пишите ДА",
    ),
}
CLASS_WEIGHTS = {"billing": 0.22, "technical": 0.25, "account": 0.18, "shipping": 0.16,
                 "feature_request": 0.11, "spam": 0.08}
SLOTS = {
    "product": ("Notes", "Planner", "Inbox", "Wallet", "Studio", "Drive", "Board", "Tracker"),
    "screen": ("settings", "calendar", "reports", "search", "profile", "home", "billing"),
    "device": ("iPhone 12", "Pixel 7", "Galaxy S21", "iPad", "Windows 11", "macOS", "Android 13"),
    "item": ("headphones", "charger", "backpack", "coffee maker", "phone case", "lamp", "mug"),
    "city": ("Lisbon", "Almaty", "Kazan", "Porto", "Tbilisi", "Novosibirsk", "Riga", "Oslo"),
    "name": ("Anna", "Dmitry", "Maria", "John", "Olga", "Peter", "Lena", "Sam", "Ivan"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August"),
}
GREETINGS = ("Hi, ", "Hello, ", "Hey team, ", "Good morning. ", "Здравствуйте! ", "Добрый день, ")
SIGN_OFFS = (" Thanks", " Thank you!", " Regards, {name}", " Спасибо", " С уважением, {name}",
             "!!", " ASAP please", "?")
# The bad rows planted, as shares of all rows, and the reason the cleaner counts each under.
PLANTED = {"empty_text": 0.004, "missing_label": 0.003, "malformed_row": 0.002,
           "duplicate": 0.01, "too_long": 0.001}
MISLABELLED = 0.03  # good rows filed under a wrong class, as people do: no model reaches 100%


def fill(template: str, rng: random.Random) -> str:
    """One template with every slot filled by a random value."""
    values = {key: rng.choice(options) for key, options in SLOTS.items()}
    values.update(
        amount=rng.choice(("$", "€", "£", "")) + f"{rng.randint(3, 999)}.{rng.randint(0, 99):02d}",
        order=f"#{rng.randint(10_000, 9_999_999)}", card=f"{rng.randint(0, 9999):04d}",
        code=f"E{rng.randint(100, 999)}", date=f"{rng.randint(1, 28)}.{rng.randint(1, 12):02d}",
        version=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        email=f"{rng.choice(SLOTS['name']).lower()}{rng.randint(1, 9999)}@example.org",
        user=f"user{rng.randint(1, 999_999)}", days=str(rng.randint(2, 40)),
        time=f"{rng.randint(0, 23)}:{rng.choice(('00', '15', '30', '45'))}",
        url=f"http://{rng.choice(('win', 'prize', 'verify', 'secure'))}-"
            f"{rng.randint(1, 999)}.example")
    return template.format(**values)


def message(label: str, rng: random.Random) -> str:
    """A message of class ``label``: a filled template, dressed up the way people write."""
    text = fill(rng.choice(CLASSES[label]), rng)
    if rng.random() < 0.4:
        text = rng.choice(GREETINGS) + text[0].lower() + text[1:]
    if rng.random() < 0.4:
        text += fill(rng.choice(SIGN_OFFS), rng)
    if rng.random() < 0.15:
        text = text.upper() if rng.random() < 0.3 else text.lower()
    if rng.random() < 0.2 and len(text) > 10:  # one typo: two neighbouring letters swapped
        i = rng.randrange(len(text) - 1)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def generate(path: Path, rows: int, *, seed: int, progress: bool = True) -> dict[str, object]:
    """Write ``rows`` data rows (plus a header) to ``path``; return what the cleaner must find."""
    rng = random.Random(seed)
    labels, weights = list(CLASS_WEIGHTS), list(CLASS_WEIGHTS.values())
    planted: Counter[str] = Counter()
    seen: set[str] = set()
    kept: list[str] = []  # a few good rows, for planting duplicates of them
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket", "category", "message"])
        for number in tqdm(range(rows), desc="generating", unit=" rows", unit_scale=True,
                           disable=None if progress else True):
            label = rng.choices(labels, weights)[0]
            kind = _planted_kind(rng)
            if kind == "duplicate" and not kept:
                kind = None
            if kind == "malformed_row":
                writer.writerow([number, label, message(label, rng), "extra field"])
            elif kind == "empty_text":
                writer.writerow([number, label, rng.choice(("", "   ", "\u200b"))])
            elif kind == "missing_label":
                writer.writerow([number, rng.choice(("", "NA", "null", "-")),
                                 message(label, rng) + f" ({number})"])
            elif kind == "too_long":
                writer.writerow([number, label, (message(label, rng) + " ") * 30])
            elif kind == "duplicate":
                writer.writerow([number, *rng.choice(kept).split("\x00")])
            else:
                text = message(label, rng)
                while text.lower() in seen:  # only planted duplicates repeat a text
                    text = message(label, rng) + f" #{rng.randint(1, 10**6)}"
                seen.add(text.lower())
                if rng.random() < MISLABELLED:
                    label = rng.choice([other for other in labels if other != label])
                if len(kept) < 1000:
                    kept.append(f"{label}\x00{text}")
                writer.writerow([number, label, text])
                continue
            planted[kind] += 1
    expected = {"rows_in": rows, "rows_dropped": {k: planted[k] for k in PLANTED}}
    expected_path(path).write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def _planted_kind(rng: random.Random) -> str | None:
    draw = rng.random()
    for kind, share in PLANTED.items():
        if draw < share:
            return kind
        draw -= share
    return None


def expected_path(path: Path) -> Path:
    """Where :func:`generate` writes the accounting the pipeline must reproduce."""
    return path.with_name(f"{path.stem}.expected.json")


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser("stage4_own_data.generate_messages", __doc__.splitlines()[0],
                           device_flag=False,
                           out_help="folder for messages_<ROWS>.csv and its expected "
                                    "accounting (default: runs/stage4_own_data/"
                                    "generate_messages/)")
    parser.add_argument("--rows", type=positive_int, default=500_000, help="data rows to write")
    return parser


def run(args: argparse.Namespace) -> LessonSummary:
    rows = 2_000 if args.quick else args.rows
    folder = runs_dir("stage4_own_data", "generate_messages", args.out)
    path = folder / f"messages_{rows}.csv"
    expected = generate(path, rows, seed=args.seed)
    size = path.stat().st_size
    print(f"wrote {rows} rows ({size / 1e6:.1f} MB) to {path}; planted bad rows: "
          + ", ".join(f"{k} {v}" for k, v in expected["rows_dropped"].items()))  # type: ignore[union-attr]
    print(f"expected accounting: {expected_path(path)}")
    return LessonSummary("stage4_own_data", "generate_messages", "tool",
                         extras={"rows": rows, "bytes": size, "expected": expected})


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())

"""The guides stay true: quoted commands exist, translations keep the same structure."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from common.registry import STAGES
from tests.conftest import PROJECT_ROOT

SKIPPED_FOLDERS = {"runs", "node_modules", "data", "build"}


def is_project_guide(path: Path) -> bool:
    """A guide of ours, not one inside a venv, a cache (.pytest_cache) or lesson output."""
    parts = path.relative_to(PROJECT_ROOT).parts[:-1]
    return not (SKIPPED_FOLDERS & set(parts) or any(part.startswith(".") for part in parts))


GUIDES = sorted(p for p in PROJECT_ROOT.glob("**/README.md") if is_project_guide(p))
MODULE_COMMAND = re.compile(r"python3? -m ([A-Za-z_][\w.]*)")
HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)


def code_free(text: str) -> str:
    """Markdown without fenced code blocks (a '#' comment in a shell block is not a heading)."""
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def test_every_stage_has_both_guides():
    for stage in STAGES:
        folder = PROJECT_ROOT / stage.package
        assert (folder / "README.md").exists(), stage.package
        assert (folder / "README.ru.md").exists(), stage.package


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_quoted_modules_exist(guide: Path):
    texts = [guide.read_text(encoding="utf-8")]
    translation = guide.with_name("README.ru.md")
    if translation.exists():
        texts.append(translation.read_text(encoding="utf-8"))
    for text in texts:
        for module in MODULE_COMMAND.findall(text):
            if module in {"venv", "pip", "pytest"}:
                continue
            assert importlib.util.find_spec(module) is not None, f"{guide}: no module {module}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_translation_has_the_same_sections(guide: Path):
    translation = guide.with_name("README.ru.md")
    assert translation.exists(), f"{translation} is missing"
    english = HEADING.findall(code_free(guide.read_text(encoding="utf-8")))
    russian = HEADING.findall(code_free(translation.read_text(encoding="utf-8")))
    assert english == russian, f"{guide.parent.name}: heading levels differ"


def test_every_registered_lesson_has_the_lesson_interface():
    for stage in STAGES:
        for lesson in stage.lessons:
            module = importlib.import_module(stage.module(lesson))
            for name in ("build_parser", "run", "main"):
                assert callable(getattr(module, name, None)), f"{module.__name__}.{name}"
            help_text = module.build_parser().format_help()
            assert "--quick" in help_text and "--json" in help_text and "--seed" in help_text


# ------------------------------------------------------------- exercises, terms, numbers (ru)
RUSSIAN_GUIDES = sorted(p for p in PROJECT_ROOT.glob("**/README.ru.md") if is_project_guide(p))
RETIRED_TERMS = {  # retired variant → the glossary's term (GLOSSARY.ru.md)
    r"пакет\w*\s+модел": "бандл модели",
    r"квантован": "квантизация / квантизованный",
    r"квантовани": "квантизация",
}
PROSE_DECIMAL = re.compile(r"(?<![\w.,^])\d+\.\d+(?![\w.]*\.\d)")


def prose_of(text: str) -> str:
    """Markdown prose: no code blocks, code spans, links, quoted program output or licence names."""
    for pattern in (r"```.*?```", r"`[^`]*`", r"\]\([^)]*\)", r"https?://\S+", r"«[^»]*»",
                    r"CC BY \d\.\d"):
        text = re.sub(pattern, " ", text, flags=re.DOTALL)
    return text


@pytest.mark.parametrize("guide", RUSSIAN_GUIDES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_russian_guides_use_the_glossary_terms_and_decimal_commas(guide: Path):
    text = guide.read_text(encoding="utf-8")
    for retired, term in RETIRED_TERMS.items():
        found = re.search(retired, text, flags=re.IGNORECASE)
        assert not found, f"{guide}: {found.group()!r} is retired; write {term!r} (GLOSSARY.ru.md)"
    decimals = PROSE_DECIMAL.findall(prose_of(text))
    assert not decimals, f"{guide}: decimal points in prose {decimals[:5]}; write a comma (0,25)"


def test_prose_decimal_rule_can_fail():
    assert PROSE_DECIMAL.findall(prose_of("порог 0.25, а в коде `0.25`")) == ["0.25"]
    assert re.search(next(iter(RETIRED_TERMS)), "Пакет модели пишется", flags=re.IGNORECASE)


def test_the_glossary_exists_in_both_languages_and_both_readmes_link_it():
    assert HEADING.findall(code_free((PROJECT_ROOT / "GLOSSARY.md").read_text("utf-8"))) == \
        HEADING.findall(code_free((PROJECT_ROOT / "GLOSSARY.ru.md").read_text("utf-8")))
    assert "GLOSSARY.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "GLOSSARY.ru.md" in (PROJECT_ROOT / "README.ru.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.package)
def test_each_guide_lists_its_checked_exercises_and_marks_open_questions(stage):
    from common.registry import exercises

    for name, exercises_title, questions_title in (
            ("README.md", "## Exercises", "### Questions for thought"),
            ("README.ru.md", "## Упражнения", "### Вопросы для размышления")):
        text = (PROJECT_ROOT / stage.package / name).read_text(encoding="utf-8")
        section = text.split(exercises_title, 1)[1].split("\n## ", 1)[0]
        assert questions_title in section, f"{stage.package}/{name}"
        for ref in exercises():
            if ref.stage == stage:
                assert f"`mlcourse check {ref.id}`" in section, f"{stage.package}/{name}: {ref.id}"

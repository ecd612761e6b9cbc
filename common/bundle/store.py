"""Named bundles in one folder, and the pointer to the current one.

A learner trains on more than one dataset; each run gets its own bundle, and one of them is the
*current* bundle that serving and export use unless told otherwise::

    <store>/                    where the course map (common.registry) says
      CURRENT                   one line: the name of the current bundle
      support_inbox/            a bundle (common.bundle.manifest)
      my_reviews/               another one
      .my_reviews.partial-*     a write in progress (or a killed run's leftover, cleaned later)

The pointer is written atomically and names a bundle only after that bundle is in place, so it
never points at half a bundle. The store's location is an argument: this package knows no
stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common.bundle.errors import BundleError
from common.bundle.files import write_text_atomically
from common.bundle.manifest import MANIFEST_NAME, Bundle, bundle_writer, load_bundle, mark_failed

POINTER = "CURRENT"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    """A bundle name: letters, digits, ``.``, ``_``, ``-`` (a folder name on every system)."""
    if not NAME.fullmatch(name) or name == POINTER or name.endswith("."):
        raise BundleError(f"bundle name {name!r} is not usable: use up to 64 letters, digits, "
                          "'.', '_' or '-', starting with a letter or digit")
    return name


def name_for(path: Path) -> str:
    """A bundle name from a data file's stem: ``My Reviews (2024).csv`` → ``My-Reviews-2024``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(path).stem).strip("-._")[:64].rstrip("-._")
    return check_name(name or "bundle")


@dataclass(frozen=True)
class StoredBundle:
    """One entry of :meth:`BundleStore.list`: a valid bundle, or why it is not one."""

    name: str
    path: Path
    current: bool
    failed: str | None
    problem: str | None  # None: it validates

    @property
    def usable(self) -> bool:
        return self.problem is None and self.failed is None


@dataclass(frozen=True)
class BundleStore:
    """The folder of named bundles. ``make_hint`` says how to make one (shown when none is)."""

    root: Path
    make_hint: str = ""

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    @contextmanager
    def write(self, name: str) -> Iterator[Path]:
        """A staging folder that becomes bundle ``name`` whole, or leaves the old one as it was."""
        with bundle_writer(self.path(name)) as staging:
            yield staging

    def load(self, name: str | None = None) -> Bundle:
        """Bundle ``name``, or the current one."""
        return load_bundle(self.path(name) if name is not None else self.current())

    def current_name(self) -> str | None:
        pointer = self.root / POINTER
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise BundleError(f"cannot read the current-bundle pointer {pointer}: {error}"
                              ) from None
        return check_name(name)

    def current(self) -> Path:
        """The current bundle's folder; one clear error when there is none."""
        name = self.current_name()
        hint = f" ({self.make_hint})" if self.make_hint else ""
        if name is None:
            raise BundleError(f"no current model bundle in {self.root}{hint}")
        path = self.path(name)
        if not (path / MANIFEST_NAME).is_file():
            raise BundleError(f"the current bundle {name!r} is gone from {self.root}{hint}")
        return path

    def set_current(self, name: str) -> Path:
        """Point at bundle ``name`` (it must validate) for everything that uses a default."""
        path = load_bundle(self.path(name)).root
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.root / POINTER, f"{name}\n")
        return path

    def mark_failed(self, name: str, reason: str) -> Bundle:
        return mark_failed(self.path(name), reason)

    def list(self) -> list[StoredBundle]:
        """Every bundle folder in the store, by name, each validated."""
        if not self.root.is_dir():
            return []
        current = self.current_name()
        entries = []
        for path in sorted(self.root.iterdir()):
            if not (path.is_dir() and NAME.fullmatch(path.name)):
                continue  # staging folders, the pointer, stray files
            try:
                bundle = load_bundle(path)
            except BundleError as error:
                entries.append(StoredBundle(path.name, path, path.name == current, None,
                                            str(error)))
            else:
                entries.append(StoredBundle(path.name, path, path.name == current,
                                            bundle.failed, None))
        return entries

"""Imports run one way. Each layer may use the ones below it, never one above:

    app.calculators (pure math) <- app.content (parse, validate, model) <- app.scoring
        <- app.runtime (content store, version sync, reload) <- services (app.interviews, app.practice)
        <- app.api and app.web

Every module under app/ is parsed with `ast` (nothing is imported), and every import in it — at the top,
inside functions, under TYPE_CHECKING — is resolved to the module it names and checked against the rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

APP = REPO / "app"
SERVICES = ("app.interviews", "app.practice", "app.item_stats")
# The web pages share the API's request dependencies (session, content, clock); never a router.
WEB_MAY_USE_FROM_API = ("app.api.deps",)


def within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    """Whether `name` (app.x.y) is a module or package in the source tree."""
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) for every import in `source`; `from a import b` counts as a.b when b is a module."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.append((node.lineno, target if is_module(target) else base))
    return [(line, name) for line, name in dict.fromkeys(found) if within(name, "app")]


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when the import runs the right way."""
    if within(imported, ".".join(importer.split(".")[:2])):
        return None  # a package may always use itself
    if within(importer, "app.calculators"):
        return "app.calculators imports nothing of the app"
    if within(importer, "app.content") and not within(imported, "app.content", "app.calculators"):
        return "app.content imports only app.content and app.calculators"
    if within(importer, "app.scoring") and not within(imported, "app.scoring", "app.content", "app.calculators"):
        return "app.scoring imports only app.scoring, app.content and app.calculators"
    if within(importer, "app.formats") and not within(imported, "app.formats", "app.scoring", "app.content",
                                                       "app.calculators"):
        return "app.formats is pure: it imports only app.formats, app.scoring, app.content and app.calculators"
    if within(importer, "app.stats"):
        return "app.stats is pure statistics: it imports nothing of the app"
    if within(importer, "app.judge") and within(imported, *SERVICES, "app.runtime", "app.api", "app.web", "app.db",
                                                "app.models"):
        return "app.judge uses content and scoring only: it never touches the database, the services or HTTP"
    if within(importer, "app.runtime") and within(imported, *SERVICES, "app.api", "app.web"):
        return "app.runtime never imports the services, the API or the web pages"
    if within(importer, *SERVICES) and within(imported, "app.api", "app.web"):
        return "the services never import the API or the web pages"
    if within(importer, "app.web") and within(imported, "app.api") and not within(imported, *WEB_MAY_USE_FROM_API):
        return "the web pages never import an API router"
    return None


def app_modules() -> list[tuple[str, Path]]:
    return sorted((module_name(p), p) for p in APP.rglob("*.py"))


def test_every_import_runs_down_the_layers() -> None:
    problems = []
    for name, path in app_modules():
        source = path.read_text(encoding="utf-8")
        for line, imported in imported_modules(source, name, path.name == "__init__.py"):
            reason = violation(name, imported)
            if reason:
                problems.append(f"{path.relative_to(REPO)}:{line}: imports {imported}: {reason}")
    assert not problems, "\n".join(problems)


def test_every_layer_is_checked() -> None:
    """The rules above would pass vacuously if a layer moved; each must still hold modules with imports."""
    names = [name for name, _ in app_modules()]
    for layer in ("app.calculators", "app.content", "app.scoring", "app.formats", "app.stats", "app.runtime", "app.judge", *SERVICES,
                  "app.api",
                  "app.web"):
        assert any(within(n, layer) for n in names), f"no modules in {layer}"


@pytest.mark.parametrize(("importer", "source", "is_package"), [
    ("app.calculators.formulas", "from app.content.model import Question", False),
    ("app.calculators.formulas", "import app.db", False),
    ("app.calculators", "from .. import settings", True),
    ("app.content.banks", "def f():\n    from app.scoring.keypoints import get_tokenizer", False),
    ("app.content.loader", "from app.runtime import store", False),
    ("app.content.loader", "from app.db import run_db", False),
    ("app.scoring.check", "from app.runtime.store import ContentStore", False),
    ("app.scoring.check", "from app import models", False),
    ("app.runtime.reload", "from app.api.admin import require_admin", False),
    ("app.runtime.store", "from app.practice import service", False),
    ("app.judge.engine", "from app.db import write_transaction", False),
    ("app.stats.items", "from app.content.model import Question", False),
    ("app.formats.gift", "from app.runtime.store import ContentStore", False),
    ("app.formats.registry", "def f():\n    from app.db import write_transaction", False),
    ("app.judge.server", "from app.api.deps import JudgeDep", False),
    ("app.practice.service", "from app.api import me", False),
    ("app.interviews.service", "import app.web.routes", False),
    ("app.web.routes", "from app.api import admin as admin_api", False),
    ("app.web.routes", "from app.api.admin import reload_content", False),
    ("app.web.routes", "from app import api", False),
])
def test_an_upward_import_is_caught(importer: str, source: str, is_package: bool) -> None:
    found = imported_modules(source, importer, is_package)
    assert found and any(violation(importer, imported) for _, imported in found), found


@pytest.mark.parametrize(("importer", "source", "is_package"), [
    ("app.calculators", "from .generated import draw", True),
    ("app.calculators.generated", "from .formulas import box_iou", False),
    ("app.content.banks", "from app.calculators import draw", False),
    ("app.scoring.check", "from app.content.model import Question", False),
    ("app.runtime.store", "from app.scoring.keypoints import get_tokenizer", False),
    ("app.judge.engine", "from app.scoring.code_verdicts import build", False),
    ("app.runtime.sync", "from app.models import ContentState", False),
    ("app.practice.service", "from app.runtime.store import ContentStore", False),
    ("app.web.routes", "from app.runtime.reload import reload_content", False),
    ("app.web.routes", "from app.api.deps import SessionDep", False),
    ("app.api.admin", "from app.runtime.reload import reload_content", False),
])
def test_a_downward_import_is_allowed(importer: str, source: str, is_package: bool) -> None:
    found = imported_modules(source, importer, is_package)
    assert found and not any(violation(importer, imported) for _, imported in found), found

"""The documentation names what exists: every repository path that README.md and
docs/ARCHITECTURE.md name, and every file name, module and class member they name in backquotes,
is in the repository; every page of docs/ is linked from the README and every relative link
resolves. In process: the code is parsed (ast), never imported or run, so it takes a second."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
CHECKED = [ROOT / "README.md", DOCS / "ARCHITECTURE.md"]  # the pages that say where code lives

TOP = ("contracts", "node", "consortium", "scripts", "tests", "tools", "docs")
TOP_FILES = ("Makefile", "pyproject.toml", "package.json", "package-lock.json", "README.md")
SOURCE = (".py", ".sol")  # a bare name with these endings is a file of the repository
FILES = ("toml", "json", "py", "sol", "md", "log", "rlp", "hex", "crt", "key", "csv", "png", "txt")

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOP)})/[\w./*-]*)")
BARE = re.compile(rf"^[\w-]+(?:{'|'.join(re.escape(e) for e in SOURCE)})$")
MODULE = re.compile(r"(?<![\w./])((?:node|consortium)(?:\.[A-Za-z_]\w*)+)(?![\w/])")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MEMBER = re.compile(r"(?<![\w.])([A-Z]\w*)\.([a-z_]\w*)")


def spans(text: str) -> list[tuple[int, str]]:
    """(line number, backquoted text): inline code spans, and every line of a fenced block."""
    out: list[tuple[int, str]] = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start()) + 1
        out += [(first + i, line) for i, line in enumerate(block.group().splitlines()[1:-1])]
    bare = FENCE.sub(lambda m: "\n" * m.group().count("\n"), text)
    for number, line in enumerate(bare.splitlines(), 1):
        out += [(number, m.group(1)) for m in INLINE.finditer(line)]
    return out


def exists(path: str) -> bool:
    """A repository path as the docs write it: a file, a folder, a glob, or a module without .py."""
    path = path.rstrip(".,:;)")
    if "*" in path:
        return any(ROOT.glob(path))
    target = ROOT / path
    return target.exists() or target.with_name(target.name + ".py").exists()


@cache
def named_anywhere(name: str) -> bool:
    return any(p for top in TOP if (ROOT / top).is_dir() for p in (ROOT / top).rglob(name))


def defined_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try):  # TYPE_CHECKING blocks, guarded imports
            names |= defined_names(node.body)
    return names


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def class_members(node: ast.ClassDef) -> set[str]:
    """What a class defines: methods, class attributes and what its methods assign to self."""
    names = defined_names(node.body)
    stores = (n for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store))
    return names | {n.attr for n in stores if isinstance(n.value, ast.Name) and n.value.id == "self"}


@cache
def classes() -> dict[str, tuple[set[str], set[str]]]:
    """Every class of node/ and consortium/ by name: (its members, its bases' names)."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for top in ("node", "consortium"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(parsed(path)):
                if isinstance(node, ast.ClassDef):
                    members, bases = found.setdefault(node.name, (set(), set()))
                    members |= class_members(node)
                    bases |= {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    return found


def has_member(name: str, member: str, seen: frozenset = frozenset()) -> bool:
    members, bases = classes()[name]
    inherited = (b for b in bases if b in classes() and b not in seen)
    return member in members or any(has_member(b, member, seen | {name}) for b in inherited)


def module_problem(dotted: str) -> str | None:
    """Why `dotted` (package.module.Name.member) does not resolve, or None when it does."""
    parts = dotted.split(".")
    folder, source, used = ROOT, None, 0
    for part in parts:
        if (folder / part / "__init__.py").exists():
            folder, source = folder / part, folder / part / "__init__.py"
        elif (folder / f"{part}.py").exists():
            source = folder / f"{part}.py"
            used += 1
            break
        else:
            break
        used += 1
    if source is None:
        return f"no module {parts[0]}"
    body = parsed(source).body
    for name in parts[used:]:
        if name not in defined_names(body):
            return f"{source.relative_to(ROOT)} defines no {name!r}"
        found = [n for n in body if isinstance(n, ast.ClassDef) and n.name == name]
        if not found:
            return None  # a function, constant or import: what it holds is not checked
        body = found[0].body
    return None


def folders(line: str) -> list[Path]:
    """The folders of the repository paths a line names: where its bare file names live."""
    paths = [ROOT / p.rstrip(".,:;)") for p in PATH.findall(line) if "*" not in p]
    return [p if p.is_dir() else p.parent for p in paths if p.exists()]


def problems_of(page: Path) -> list[str]:
    """Every repository path the page names, and every file name and module it names in
    backquotes, that is not in the repository. A bare file name (`bound.py`) belongs to a folder
    named on the same line when there is one (a table row), else to any folder."""
    text = page.read_text()
    lines = text.splitlines()
    found: list[str] = []
    for number, line in enumerate(lines, 1):
        paths = [p for p in PATH.findall(line) if not re.search(r"[<{]", p)]
        found += [f"{page.name}:{number}: {p} does not exist" for p in paths if not exists(p)]
    for number, code in spans(text):
        where = f"{page.name}:{number}"
        if code in TOP_FILES and not exists(code):
            found.append(f"{where}: `{code}` does not exist")
        if BARE.match(code):
            near = folders(lines[number - 1])
            if near and not any((folder / code).exists() for folder in near):
                found.append(f"{where}: `{code}` is in none of {[str(f.relative_to(ROOT)) for f in near]}")
            elif not near and not named_anywhere(code):
                found.append(f"{where}: no file named `{code}` in the repository")
        for name, member in MEMBER.findall(code):
            if name in classes() and member not in FILES and not has_member(name, member):
                found.append(f"{where}: `{name}.{member}`: class {name} has no {member!r}")
        for dotted in MODULE.findall(code):
            if dotted.rsplit(".", 1)[1] in FILES:  # node.toml, consortium.json: a file's name
                continue
            problem = module_problem(dotted)
            if problem:
                found.append(f"{where}: `{dotted}`: {problem}")
    return found


@pytest.mark.parametrize("page", CHECKED, ids=lambda p: p.name)
def test_every_path_and_module_named_exists(page):
    assert problems_of(page) == []


def test_the_readme_links_every_page_of_docs_and_each_exists():
    readme = (ROOT / "README.md").read_text()
    linked = {Path(link.split("#")[0]) for link in LINK.findall(readme) if link.startswith("docs/")}
    missing = sorted(str(p) for p in linked if not (ROOT / p).exists())
    assert missing == [], f"README links pages that do not exist: {missing}"
    pages = {p.relative_to(ROOT) for p in DOCS.glob("*.md")}
    assert sorted(map(str, pages - linked)) == [], "pages of docs/ the README does not list"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    links = [link.split("#")[0] for link in LINK.findall(page.read_text())]
    local = [link for link in links if link and not re.match(r"[a-z]+:", link)]
    assert [link for link in local if not (page.parent / link).exists()] == []


def test_the_checks_can_fail():
    """The rules catch what they are for: a moved file, a module or member that is not there."""
    assert not exists("node/qbft/no_such_room.py")
    assert exists("node/core") and exists("contracts/suite/*.sol") and exists("tests/e2e/manifests/")
    assert module_problem("consortium.client.NoSuchThing") is not None
    assert module_problem("consortium.no_such_module.x") is not None
    assert module_problem("consortium.client.tx.Batch") is None
    assert not named_anywhere("no_such_file_anywhere.py")
    assert has_member("NodeCore", "set_producer") and not has_member("NodeCore", "no_such_method")

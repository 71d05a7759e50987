"""Static checks on student source: which library calls a kernel reaches.

A kernel graded for speed must do its own arithmetic. We read the source of the
function and of every solution-cell function it calls (by name, transitively)
and list calls that hand the product to BLAS or another library.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

DELEGATING_NAMES = {"dot", "matmul", "einsum", "tensordot", "inner", "vdot", "linalg",
                    "scipy", "blas", "lapack", "multi_dot", "kron", "torch", "tensorflow",
                    "__matmul__", "__rmatmul__", "__imatmul__"}


def functions_in_blocks(blocks: list) -> dict:
    """{name: source} of every top-level function in (label, source) blocks; later wins."""
    found = {}
    for _, source in blocks:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines = source.splitlines()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # with its decorators: a decorator can replace the function by anything
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                found[node.name] = textwrap.dedent("\n".join(lines[start - 1:node.end_lineno]))
    return found


MODULE_LEVEL = "<module level>"  # key of the cells' top-level code in a sources dict


def module_level_code(blocks: list) -> str:
    """The top-level statements of (label, source) blocks that are not function or class
    definitions: code that runs once, when the cells are loaded."""
    parts = []
    for _, source in blocks:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        parts += [ast.get_source_segment(source, node) or "" for node in tree.body
                  if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return "\n".join(parts)


def _plain(f):
    """The Python function behind a numba dispatcher, or `f` itself."""
    return getattr(f, "py_func", f)


def functions_of_live(fn) -> dict:
    """{name: source} for a live function and the notebook functions it refers to."""
    found: dict = {}
    todo = [_plain(fn)]
    while todo:
        f = todo.pop()
        if not inspect.isfunction(f) or f.__name__ in found:
            continue
        try:
            found[f.__name__] = textwrap.dedent(inspect.getsource(f))
        except (OSError, TypeError):
            continue
        for name in f.__code__.co_names:
            g = _plain(f.__globals__.get(name))
            if inspect.isfunction(g) and g.__module__ == f.__module__:
                todo.append(g)
    return found


def _set_at_module_level(functions: dict) -> set:
    """Names the cells' top-level code binds (assignments, imports), where `functions` has it."""
    try:
        top = ast.parse(functions.get(MODULE_LEVEL, ""))
    except SyntaxError:
        return set()
    bound = {n.id for n in ast.walk(top) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(top):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return bound


def reachable(root: str, functions: dict) -> list:
    """The functions `root` reaches by name, transitively; MODULE_LEVEL too when one of them
    uses a name the cells' top-level code binds (an alias, a `functools.partial`)."""
    top = _set_at_module_level(functions)
    seen, todo = [], [root]
    while todo:
        name = todo.pop()
        if name in top and name not in functions and MODULE_LEVEL not in seen:
            todo.append(MODULE_LEVEL)
        if name in seen or name not in functions:
            continue
        seen.append(name)
        try:
            tree = ast.parse(functions[name])
        except SyntaxError:
            continue
        todo.extend(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return seen


def names_used(root: str, functions: dict) -> dict:
    """{name or attribute: [functions using it]} over the code reachable from `root`, and the
    cells' top-level code (MODULE_LEVEL, where `functions` has it) when that code sets a
    global those functions read: the syntax tree, so comments and strings never count."""
    used: dict = {}
    names = reachable(root, functions)
    if MODULE_LEVEL in functions and _reads_module_state(names, functions):
        names.append(MODULE_LEVEL)
    for name in names:
        for node in ast.walk(ast.parse(functions[name])):
            word = node.id if isinstance(node, ast.Name) else \
                node.attr if isinstance(node, ast.Attribute) else None
            if word is not None and name not in used.setdefault(word, []):
                used[word].append(name)
    return used


def local_names(tree: ast.AST) -> set:
    """Names a function binds itself: parameters, assignment and loop targets, imports'
    aliases excepted (an import binds a library, which is what the checks look for)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
    return bound


def _reads_module_state(names: list, functions: dict) -> bool:
    """Whether the functions `names` read a global that the cells' top-level code sets."""
    try:
        top = ast.parse(functions[MODULE_LEVEL])
    except SyntaxError:
        return True
    set_at_top = {n.id for n in ast.walk(top) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
    for name in names:
        tree = ast.parse(functions[name])
        if set_at_top & ({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
                         - local_names(tree)):
            return True
    return False


def delegations(root: str, functions: dict) -> list:
    """Human-readable list of BLAS/library matmul uses reachable from `root`. A name the
    student's own code binds (a loop variable `inner`, a notebook helper `matmul`) is theirs,
    not a library's."""
    problems = []
    for name in reachable(root, functions):
        tree = ast.parse(functions[name])
        own = local_names(tree) | set(functions)
        for node in ast.walk(tree):
            what = None
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                what = "the @ operator"
            elif isinstance(node, ast.Attribute) and node.attr in DELEGATING_NAMES:
                what = f".{node.attr}"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "getattr" and len(node.args) >= 2 and not (
                        isinstance(node.args[1], ast.Constant)
                        and node.args[1].value not in DELEGATING_NAMES):
                what = "getattr with a name the grader cannot read" if not isinstance(
                    node.args[1], ast.Constant) else f"getattr(..., {node.args[1].value!r})"
            elif isinstance(node, ast.Name) and node.id in DELEGATING_NAMES \
                    and node.id not in own:
                what = node.id
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and node.slice.value in DELEGATING_NAMES:
                what = f"[{node.slice.value!r}]"   # vars(np)["matmul"], np.__dict__["dot"]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(m.split(".")[0] in DELEGATING_NAMES or "linalg" in m for m in mods):
                    what = "an import of " + ", ".join(m for m in mods if m)
            if what:
                problems.append(f"{name}(), line {getattr(node, 'lineno', '?')}: {what}")
    return problems


BYPASS_MODULES = {"importlib", "builtins", "imp", "runpy", "zipimport", "pkgutil",
                  "gc", "ctypes", "inspect"}   # objects by reference, raw memory, frames
BYPASS_NAMES = {"__import__", "__builtins__", "__loader__", "__spec__", "__subclasses__",
                "__globals__", "__code__", "__closure__", "__defaults__", "__kwdefaults__",
                "meta_path", "path_hooks",
                "_getframe", "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame",
                "gi_frame", "cr_frame"}   # the frames of the worker's own code


def import_bypasses(source: str) -> list:
    """What in a solution cell goes around its import statements (which the worker guards) or
    into the objects the setup cell and the worker made: the import machinery, `sys.modules`,
    the dunder names of functions and modules, frames, `gc`, `ctypes`; empty if nothing.
    (An array's `.ctypes` attribute is an address, not the module: it is not flagged.)"""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in BYPASS_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BYPASS_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Name) and node.id in BYPASS_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in BYPASS_NAMES:
            found.append(node.attr)
        elif (isinstance(node, ast.Attribute) and node.attr == "modules"
              and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            found.append("sys.modules")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and any(
                a.name == "modules" for a in node.names):
            found.append("sys.modules")
        elif isinstance(node, ast.Constant) and node.value in BYPASS_NAMES:
            found.append(repr(node.value))    # getattr(x, "__globals__")
    return sorted(set(found))

#!/usr/bin/env python3
"""Import cycles between the files of src/: which files import each other in
a loop, read from the code's own paths (`use crate::...`, `super::...`,
`crate::a::b` inside code), tests (what follows a file's `#[cfg(test)]`)
and comments left out. A path names the deepest module file it reaches
(`crate::driver::docker::Backend` -> src/driver/docker/mod.rs).

    scripts/cycles.py            every cycle, with its files
    scripts/cycles.py --allow components
                                 exit 1 on a cycle that holds no file under
                                 src/components/ (the kinds' registry is the
                                 one loop the design allows: the kinds plug
                                 into the stack, the topology and the
                                 renderer, which ask them in turn)
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
SRC = os.path.normpath(SRC)

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)(::\{([^}]*)\})?")


def module_of(path):
    """src/a/b.rs or src/a/b/mod.rs -> ['a', 'b']; lib.rs/main.rs -> []."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def file_of(module):
    """The file of a module path, if it has one."""
    base = os.path.join(SRC, *module) if module else os.path.join(SRC, "lib")
    for cand in (base + ".rs", os.path.join(base, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def deepest(module):
    """The deepest prefix of `module` that is a file."""
    for n in range(len(module), -1, -1):
        f = file_of(module[:n])
        if f:
            return f
    return None


def code_of(path):
    """The file's code: its tests and comments left out."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#[cfg(test)]"):
            break
        out.append(line.split("//")[0])
    return "".join(out)


def imports(path):
    here = module_of(path)
    # A file's `super` is its parent module; in mod.rs, the folder's parent.
    parent = here[:-1]
    found = set()
    for m in PATH.finditer(code_of(path)):
        root, rest, group = m.group(1), m.group(2), m.group(4)
        names = rest.split("::")[1:]
        base = {"crate": [], "super": parent, "self": here}[root]
        while names and names[0] == "super":
            base, names = base[:-1], names[1:]
        targets = [base + names]
        if group:
            for item in group.split(","):
                item = item.strip().split(" as ")[0].split("::")[0]
                if item and item != "self":
                    targets.append(base + names + [item])
        for t in targets:
            f = deepest(t)
            if f and f != path:
                found.add(f)
    return found


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    allow = None
    if sys.argv[1:2] == ["--allow"]:
        allow = os.path.join(SRC, sys.argv[2]) + os.sep
    files = [
        os.path.join(d, f)
        for d, _, fs in os.walk(SRC)
        for f in fs
        if f.endswith(".rs") and f != "main.rs"
    ]
    graph = {f: imports(f) & set(files) for f in files}
    found = cycles(graph)
    bad = 0
    for comp in sorted(found, key=len, reverse=True):
        rel = [os.path.relpath(f, os.path.dirname(SRC)) for f in comp]
        allowed = allow and any(f.startswith(allow) for f in comp)
        bad += 0 if allowed else 1
        print(f"{len(comp)} files{' (allowed)' if allowed else ''}: {' '.join(rel)}")
    print(f"{len(found)} cycle(s) among {len(files)} files")
    return 1 if allow and bad else 0


if __name__ == "__main__":
    sys.exit(main())

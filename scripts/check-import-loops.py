#!/usr/bin/env python3
"""Fail if two source files of a crate import each other (DESIGN.md, Layout).

For every crate under crates/*/src it maps each file to its module path (a/b.rs and
a/b/mod.rs are `a::b`), reads the paths each file names (`use crate::..`, `super::..`,
`self::..`, names brought in by `use`, and in a crate root or mod.rs its own `mod`
children), resolves each to the deepest module that has a file, and draws an arrow from
the file to that module's file. A `mod x;` declaration alone is no arrow: declaring a
child is not using it. Inline `mod name { .. }` blocks (tests) count as their file.

It fails on any pair of files that import each other, and lists longer loops as well
(`--strict` fails on those too). Usage: scripts/check-import-loops.py [--strict] [CRATE_SRC..]
"""
import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """Comments, strings and char literals blanked out (line numbers kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and not re.match(r"[A-Za-z0-9_]", text[i - 1 : i] or " "):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", text[i:])
            i += m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d as e}, self}` -> [(['a','b'], 'b'), (['a','c','d'], 'e'), (['a'], 'a')]."""
    tree = re.sub(r"\s+", "", tree)
    results = []

    def walk(prefix, s):
        # split s on top-level commas
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        for part in parts:
            if "{" in part:
                head, rest = part.split("{", 1)
                head = [p for p in head.split("::") if p]
                walk(prefix + head, rest[: rest.rfind("}")])
            else:
                path = [p for p in part.split("::") if p]
                if path == ["self"]:
                    results.append((prefix, prefix[-1] if prefix else None))
                elif path == ["*"]:
                    results.append((prefix + ["*"], None))
                else:
                    results.append((prefix + path, path[-1]))

    walk([], tree)
    return results


def parse_use(stmt):
    """A `use` statement's body with `as` aliases kept readable before expansion."""
    aliases = {}

    def keep(m):
        aliases[m.group(1)] = m.group(2)
        return m.group(1) + "@" + m.group(2)

    body = re.sub(rf"({IDENT})\s+as\s+({IDENT})", keep, stmt)
    out = []
    for path, alias in expand_use(body):
        if path and "@" in path[-1]:
            last, alias = path[-1].split("@")
            path = path[:-1] + [last]
        out.append((path, alias))
    return out


class Crate:
    def __init__(self, src):
        self.src = Path(src)
        self.files = {}  # module path tuple -> file
        for f in sorted(self.src.rglob("*.rs")):
            rel = f.relative_to(self.src).with_suffix("")
            parts = list(rel.parts)
            if parts in (["main"], ["lib"]):
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            elif parts[0] == "bin":
                continue
            self.files[tuple(parts)] = f
        self.module_of = {f: m for m, f in self.files.items()}

    def resolve(self, path):
        """The deepest module of an absolute path that is a file."""
        path = tuple(path)
        for k in range(len(path), -1, -1):
            if path[:k] in self.files:
                return path[:k]
        return ()

    def edges(self, file):
        text = strip(file.read_text())
        module = self.module_of[file]
        is_dir_root = file.name in ("mod.rs", "main.rs", "lib.rs")
        children = set(re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", text, re.M))
        # inline `mod x {`: paths inside are one level deeper than the file's module
        inline = [(m.start(), m.group(1)) for m in re.finditer(rf"\bmod\s+({IDENT})\s*\{{", text)]

        def scope_at(pos):
            extra = []
            for start, name in inline:
                if start < pos:
                    depth, j = 0, text.index("{", start)
                    k = j
                    while k < len(text):
                        if text[k] == "{":
                            depth += 1
                        elif text[k] == "}":
                            depth -= 1
                            if depth == 0:
                                break
                        k += 1
                    if pos < k:
                        extra.append(name)
            return list(module) + extra

        def absolute(path, pos, names):
            scope = scope_at(pos)
            if not path:
                return None
            head = path[0]
            if head == "crate":
                return list(path[1:])
            if head == "self":
                return scope + list(path[1:])
            if head == "super":
                s = scope
                while path and path[0] == "super":
                    s, path = s[:-1], path[1:]
                return s + list(path)
            if head in names:
                return names[head] + list(path[1:])
            if head in children and not is_dir_root:
                return None
            if head in children:
                return list(module) + list(path)
            return None

        names, targets = {}, set()
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            for path, alias in parse_use(m.group(1)):
                if path and path[-1] == "*":
                    full = absolute(path[:-1], m.start(), names)
                else:
                    full = absolute(path, m.start(), names)
                if full is None:
                    continue
                targets.add(self.resolve(full))
                if alias and tuple(full) in self.files:
                    names[alias] = full
        for m in re.finditer(rf"(?<![:\w])({IDENT}(?:\s*::\s*{IDENT})+)", text):
            path = [p.strip() for p in m.group(1).split("::")]
            if text[max(0, m.start() - 4) : m.start()].strip().endswith("use"):
                continue
            full = absolute(path, m.start(), names)
            if full is not None:
                targets.add(self.resolve(full))
        targets.discard(module)
        return {self.files[t] for t in targets if t in self.files}


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

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

    for v in graph:
        if v not in index:
            visit(v)
    return out


def main(argv):
    strict = "--strict" in argv
    roots = [a for a in argv if a != "--strict"]
    if not roots:
        here = Path(__file__).resolve().parent.parent
        roots = sorted(str(p) for p in here.glob("crates/*/src"))
    failed = False
    for root in roots:
        crate = Crate(root)
        graph = {f: crate.edges(f) for f in crate.files.values()}
        rel = lambda f: str(f.relative_to(crate.src))  # noqa: E731
        arrows = sum(len(v) for v in graph.values())
        pairs = sorted(
            {tuple(sorted((rel(a), rel(b)))) for a in graph for b in graph[a] if a in graph[b]}
        )
        print(f"{root}: {len(graph)} files, {arrows} arrows, {len(pairs)} two-file loop(s)")
        for a, b in pairs:
            print(f"  loop: {a} <-> {b}")
            failed = True
        for comp in cycles(graph):
            names = [rel(f) for f in comp]
            if len(names) > 2:
                print(f"  longer loop through: {', '.join(names)}")
                failed |= strict
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

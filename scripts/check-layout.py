#!/usr/bin/env python3
"""The house rules for src/ that a reviewer should not have to count by hand:

- no import circle between the top-level modules of src/ (folders and single files);
- no file over 600 lines and no function over 80, generated code (src/onnx/proto/) and tables of
  data (src/attack/stop_words.rs, src/attack/data/) aside.

Prints every violation and exits 1 when there is one. Run from anywhere: paths are relative to
the repository. A crude parser (comments and strings stripped line by line, braces counted) is
enough for code formatted by rustfmt.
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
EXEMPT = ("onnx/proto/", "attack/stop_words.rs", "attack/data/")
MAX_FILE, MAX_FN = 600, 80


def exempt(p):
    rel = p.relative_to(SRC).as_posix()
    return any(rel.startswith(e) for e in EXEMPT)


def code_lines(text):
    out = []
    for line in text.split("\n"):
        line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        line = re.sub(r"'(\\.|[^'\\])'", "''", line)
        out.append(line.split("//")[0])
    return out


def top(p):
    parts = p.relative_to(SRC).parts
    return parts[0].removesuffix(".rs")


def module_edges():
    edges = collections.defaultdict(set)
    for p in SRC.rglob("*.rs"):
        if exempt(p):
            continue
        t = top(p)
        text = "\n".join(code_lines(p.read_text()))
        names = set(re.findall(r"crate::(\w+)", text))
        for group in re.findall(r"use crate::\{([^}]*)\}", text):
            names.update(re.findall(r"(?:^|,)\s*(\w+)", group))
        if len(p.relative_to(SRC).parts) >= 2:
            names.update(re.findall(r"super::super::(\w+)", text))
        edges[t].update(n for n in names if n != t and ((SRC / n).is_dir() or (SRC / f"{n}.rs").is_file()))
    return edges


def cycles(edges):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def long_functions(p):
    lines = code_lines(p.read_text())
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)", line)
        if not m:
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            s = lines[j]
            if not started and ";" in s and "{" not in s:
                break
            for ch in s:
                if ch == "{":
                    depth += 1
                    started = True
                elif ch == "}":
                    depth -= 1
            if started and depth <= 0:
                break
            j += 1
        if started and j - i + 1 > MAX_FN:
            out.append((m.group(5), i + 1, j - i + 1))
    return out


def main():
    problems = []
    for c in cycles(module_edges()):
        problems.append("import circle between " + " -> ".join(c))
    for p in sorted(SRC.rglob("*.rs")):
        if exempt(p):
            continue
        rel = p.relative_to(ROOT)
        n = p.read_text().count("\n")
        if n > MAX_FILE:
            problems.append(f"{rel}: {n} lines (at most {MAX_FILE})")
        for name, line, length in long_functions(p):
            problems.append(f"{rel}:{line}: fn {name} is {length} lines (at most {MAX_FN})")
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("layout: no import circle, no file over 600 lines, no function over 80")


main()

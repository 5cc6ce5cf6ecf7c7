#!/usr/bin/env python3
"""The layer rule of ARCHITECTURE.md, checked against the code (issue 8).

executables -> kits -> {DrainStore, Delivery} -> {Postgres, HTTPClient} -> C modules, and
everything -> DrainCore -> LibCrypto. For every target under Sources/ this checks that
  1. each module it imports is one the rule allows it (or a system module),
  2. each module it imports is declared in Package.swift (`swift package dump-package`),
  3. each dependency Package.swift declares is one the rule allows,
  4. C modules are imported `internal import` by their wrapper only.
Prints one line per problem and exits 1 if there is any; prints what it checked otherwise.
Run: python3 Tests/layers/check_layers.py
"""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Which project modules each target may import (external products are checked against
# Package.swift only). Test targets may import anything they test.
ALLOWED = {
    "CLibPQ": set(), "CCurl": set(), "CCrypto": set(),
    "Postgres": {"CLibPQ"},
    "HTTPClient": {"CCurl"},
    "LibCrypto": {"CCrypto"},
    "DrainCore": {"LibCrypto"},
    "DrainStore": {"DrainCore", "Postgres"},
    "Delivery": {"DrainCore", "HTTPClient"},
    "DrainWorkerKit": {"DrainCore", "DrainStore", "Delivery"},
    "DrainAdminKit": {"DrainCore", "DrainStore", "Delivery"},
    "DrainServeKit": {"DrainAdminKit", "DrainCore", "DrainStore"},
    "drain-admin": {"DrainAdminKit", "DrainServeKit", "DrainCore"},
    "drain-worker": {"DrainWorkerKit", "DrainCore"},
    "embed-sql": set(),
}
C_MODULES = {"CLibPQ": "Postgres", "CCurl": "HTTPClient", "CCrypto": "LibCrypto"}
SYSTEM = {"Foundation", "Glibc", "Musl", "Dispatch", "Synchronization", "PackagePlugin", "XCTest"}
IMPORT = re.compile(r"^[ \t]*(?:@\w+[ \t]+)*(?:(public|package|internal|fileprivate|private)[ \t]+)?import[ \t]+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)[ \t]+)?([A-Za-z_]\w*)", re.M)


def main() -> int:
    dump = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout)
    declared = {}
    for target in dump["targets"]:
        names = set()
        for dep in target.get("dependencies", []):
            kind, value = next(iter(dep.items()))
            names.add(value[0])
        declared[target["name"]] = names
    problems = []
    imports_checked = 0
    for target, deps in declared.items():
        is_test = target.endswith("Tests")
        if not is_test and target not in ALLOWED:
            continue  # build plugins and their tools
        for dep in deps:
            if not is_test and dep in ALLOWED and dep not in ALLOWED.get(target, set()):
                problems.append(f"Package.swift: {target} depends on {dep}, against the layer rule")
        folder = ROOT / ("Tests" if is_test else "Sources") / target
        for path in sorted(folder.rglob("*.swift")):
            text = path.read_text()
            for access, module in IMPORT.findall(text):
                imports_checked += 1
                where = f"{path.relative_to(ROOT)}: import {module}"
                if module in SYSTEM or module == target:
                    continue
                if module not in deps:
                    problems.append(f"{where} is not declared for {target} in Package.swift")
                if is_test:
                    continue
                if module in ALLOWED and module not in ALLOWED.get(target, set()):
                    problems.append(f"{where} is against the layer rule ({target} may import {sorted(ALLOWED.get(target, set()))})")
                if module in C_MODULES and access != "internal":
                    problems.append(f"{where} must be `internal import` (C types stay inside {C_MODULES[module]})")
    for target in ALLOWED:
        if target not in declared:
            problems.append(f"Package.swift: no target {target} (update ALLOWED in {pathlib.Path(__file__).name})")
    for p in problems:
        print(p)
    if problems:
        print(f"layer check: {len(problems)} problem(s)")
        return 1
    print(f"layer check: {len(declared)} targets, {imports_checked} imports, all along the layer rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())

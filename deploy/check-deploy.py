#!/usr/bin/env python3
"""Checks the deployment files that cannot run here (no systemd as PID 1, no cluster, no Docker
engine) as far as this machine can:

  - deploy/systemd/*: `systemd-analyze verify`, with the units pointed at the built binaries
    (the template verified as instance drain-worker@1);
  - deploy/kubernetes/*.yaml: `kubernetes-validate --strict` against the Kubernetes schemas;
  - every flag and environment variable that the units, the manifests and the Dockerfile pass to
    drain-worker or drain-admin appears in that command's `--help`.

    deploy/check-deploy.py BIN_DIR      # BIN_DIR: `swift build --show-bin-path`
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
problems = []
checked = 0


def help_text(tool, sub):
    args = [os.path.join(BIN, tool)] + ([sub] if sub else []) + ["--help"]
    return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout


def check_invocation(where, tokens, env_names):
    """tokens: [binary, args...]; env_names: variables the file sets for it."""
    global checked
    tool = os.path.basename(tokens[0])
    if tool not in ("drain-worker", "drain-admin"):
        return
    args = tokens[1:]
    sub = None
    if tool == "drain-admin":
        sub = args[0] if args else None
    text = help_text(tool, sub)
    if not text:
        problems.append(f"{where}: `{tool} {sub or ''} --help` printed nothing (unknown command?)")
        return
    for a in args:
        if a.startswith("--"):
            flag = a.split("=", 1)[0]
            checked += 1
            if flag not in text:
                problems.append(f"{where}: {tool} {sub or ''} has no flag {flag}")
    for name in env_names:
        checked += 1
        if name not in text:
            problems.append(f"{where}: {tool} {sub or ''} --help does not mention the environment variable {name}")


def systemd():
    global checked
    units = sorted(p for p in glob.glob(os.path.join(ROOT, "deploy/systemd/*")) if os.path.isfile(p))
    tmp = tempfile.mkdtemp()
    # Drop-ins (e.g. the secret keys credential) are verified with their units.
    for d in glob.glob(os.path.join(ROOT, "deploy/systemd/*.d")):
        shutil.copytree(d, os.path.join(tmp, os.path.basename(d)))
    try:
        for path in units:
            text = open(path).read()
            env = re.findall(r"^Environment=([A-Z_]+)=", text, re.M)
            for line in re.findall(r"^ExecStart=(.*)$", text, re.M):
                tokens = [t.replace("%i", "9101").replace("%H", "host") for t in shlex.split(line)]
                check_invocation(os.path.relpath(path, ROOT), tokens, env + ["DATABASE_URL"])
            target = os.path.join(tmp, os.path.basename(path).replace("@.service", "@9101.service"))
            with open(target, "w") as f:
                f.write(text.replace("/usr/local/bin/", BIN.rstrip("/") + "/"))
        names = sorted(n for n in os.listdir(tmp) if not n.endswith(".d"))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp, capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        checked += len(names)
        if r.returncode != 0 or out:
            problems.append(f"systemd-analyze verify: exit {r.returncode}: {out}")
        else:
            print(f"check-deploy: systemd-analyze verify: {', '.join(names)}: ok")
    finally:
        shutil.rmtree(tmp)


def kubernetes():
    global checked
    files = sorted(glob.glob(os.path.join(ROOT, "deploy/kubernetes/*.yaml")))
    r = subprocess.run(["kubernetes-validate", "--strict", *files], capture_output=True, text=True)
    print("\n".join("check-deploy: " + l for l in (r.stdout + r.stderr).strip().splitlines()))
    checked += len(files)
    if r.returncode != 0:
        problems.append(f"kubernetes-validate --strict: exit {r.returncode}")
    import yaml  # comes with kubernetes-validate
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            for c in containers(doc):
                tokens = (c.get("command") or []) + (c.get("args") or [])
                if tokens:
                    check_invocation(os.path.relpath(path, ROOT), tokens, [e["name"] for e in c.get("env", [])
                                                                            if e["name"] != "LOG_LEVEL" or "worker" in tokens[0]])


def containers(doc):
    spec = (doc or {}).get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("containers", [])


def dockerfile():
    global checked
    text = open(os.path.join(ROOT, "deploy/docker/Dockerfile")).read()
    # Every COPY from the build context names something in the checkout.
    for line in re.findall(r"^COPY (?!--from)(.*)$", text, re.M):
        for source in shlex.split(line)[:-1]:
            checked += 1
            if not glob.glob(os.path.join(ROOT, source)):
                problems.append(f"deploy/docker/Dockerfile: COPY {source}: not in the checkout")
    # The build image's Swift must be at least the tools version the manifest (and its
    # dependencies, which need 6.2) ask for.
    image = re.search(r"^FROM swift:(\d+)\.(\d+)", text, re.M)
    checked += 1
    if not image or (int(image.group(1)), int(image.group(2))) < (6, 2):
        problems.append("deploy/docker/Dockerfile: the build stage must use swift:6.2 or later")
    for line in re.findall(r"^CMD (\[.*\])$", text, re.M):
        import json
        check_invocation("deploy/docker/Dockerfile", json.loads(line), [])


if not BIN:
    sys.exit("usage: deploy/check-deploy.py BIN_DIR")
systemd()
kubernetes()
dockerfile()
if problems:
    for p in problems:
        print(f"check-deploy: FAIL: {p}", file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: ok ({checked} checks: units, manifests, flags and environment variables)")

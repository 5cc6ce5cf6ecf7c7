#!/usr/bin/env python3
"""Executes every fenced `sh` and `sql` block of deploy/runbooks/*.md, in order, against the
private cluster of deploy/test.sh, so a runbook cannot drift from the product.

For each runbook a fixture makes the situation it is about (a drain auto-disabled by a failing
endpoint, a transaction left open, ...) in a fresh account and sets the variables the runbooks
use (ACCOUNT, ADMIN_EMAIL, DRAIN_ID, METRICS_ADDR, ...; psql variables drain_id, account and,
where needed, stuck_pid). One worker runs throughout, with metrics and the secret keys file.
`sh` blocks run in bash with `set -euo pipefail`; `sql` blocks in psql with ON_ERROR_STOP.

    python3 Tests/runbooks/run_runbooks.py [RUNBOOK.md ...]   # under deploy/test.sh's environment
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ENV = os.environ
ROOT = ENV.get("REPO_ROOT", os.getcwd())
BIN = ENV["DRAIN_BIN_DIR"]
RECEIVER = ENV["RECEIVER_URL"]
# A database of their own in the test cluster: runbooks act on the whole schema (rotate-secrets
# re-encrypts every drain's secret, maintain drops partitions), so the other tests' drains
# (sealed under their own keys) must not be in it.
DB_NAME = f"runbooks_{uuid.uuid4().hex[:8]}"


def in_database(url, name):
    return re.sub(r"/[^/?]+(\?|$)", lambda m: f"/{name}{m.group(1)}", url, count=1) if "://" in url else url


subprocess.run(["psql", ENV["DATABASE_URL"], "-XAtqc", f"create database {DB_NAME}"], check=True)
DB = in_database(ENV["DATABASE_URL"], DB_NAME)
subprocess.run([os.path.join(BIN, "drain-admin"), "migrate", "--database-url", DB], check=True, capture_output=True)
RUNBOOKS = os.path.join(ROOT, "deploy", "runbooks")
WORK = tempfile.mkdtemp(prefix="runbooks-")


def blocks(path):
    """(line number, language, text) of each fenced sh/sql block."""
    out, lang, start, buf = [], None, 0, []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and lang is None:
            lang, start, buf = fence.group(1) or "-", n, []
        elif fence and lang is not None:
            if lang in ("sh", "sql"):
                out.append((start, lang, "".join(buf)))
            lang = None
        elif lang is not None:
            buf.append(line)
    return out


def admin(*args, env=None, stdin=None):
    r = subprocess.run([os.path.join(BIN, "drain-admin"), *args], capture_output=True, text=True,
                       env=env or base_env(), input=stdin, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"fixture: drain-admin {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def sql(query):
    return subprocess.run(["psql", DB, "-XAtc", query], capture_output=True, text=True, check=True).stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(what, predicate, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"fixture: timed out waiting for {what}")


KEYS_FILE = os.path.join(WORK, "secret-keys")
with open(KEYS_FILE, "w") as f:
    f.write("k1 " + subprocess.run(["openssl", "rand", "-base64", "32"], capture_output=True, text=True).stdout)
os.chmod(KEYS_FILE, 0o600)
METRICS_PORT = free_port()


def base_env():
    env = dict(ENV)
    env.update({
        "PATH": BIN + os.pathsep + ENV["PATH"],
        "DATABASE_URL": DB,
        "DRAIN_ALLOW_PRIVATE_ENDPOINTS": "1",
        "DRAIN_SECRET_KEYS_FILE": KEYS_FILE,
        "KEYS_FILE": KEYS_FILE,
        "METRICS_ADDR": f"127.0.0.1:{METRICS_PORT}",
    })
    return env


def account():
    name = f"rb-{uuid.uuid4().hex[:8]}"
    admin("account", "create", name)
    email = f"ops@{name}.example"
    admin("member", "add", name, email, "--role", "admin")
    return name, email


def drain(name, email, path, skip_test=False):
    args = ["create", name, "--as", email, "--name", "runbook drain", "--url", RECEIVER + path,
            "--secret-file", ENV["RECEIVER_SECRET_FILE"], "--json"] + (["--skip-test"] if skip_test else [])
    return json.loads(admin(*args))["id"]


def ingest(name, messages):
    lines = "".join(json.dumps({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "message": m,
                                "level": "info"}) + "\n" for m in messages)
    admin("ingest", name, stdin=lines)


def show(drain_id):
    return json.loads(admin("show", drain_id, "--json"))


def with_drain(path_prefix, delivered=True):
    name, email = account()
    path = f"/ok/{path_prefix}-{uuid.uuid4().hex[:8]}"
    drain_id = drain(name, email, path)
    if delivered:
        ingest(name, ["first line", "second line", "third line"])
        wait("delivery", lambda: show(drain_id)["delivered_lines"] >= 3)
    return {"ACCOUNT": name, "ADMIN_EMAIL": email, "DRAIN_ID": drain_id}, {"drain_id": drain_id, "account": name}


def fixture_auto_disabled():
    name, email = account()
    drain_id = drain(name, email, f"/status/500/rb-{uuid.uuid4().hex[:8]}", skip_test=True)
    ingest(name, ["this one fails five times"])
    wait("auto-disable", lambda: show(drain_id)["disabled_reason"] == "failures")
    return ({"ACCOUNT": name, "ADMIN_EMAIL": email, "DRAIN_ID": drain_id,
             "FIXED_URL": f"{RECEIVER}/ok/rb-fixed-{uuid.uuid4().hex[:8]}"},
            {"drain_id": drain_id, "account": name}, None)


STUCK = []


def fixture_lag_every():
    env, psql_vars = with_drain("rb-lag-all")
    # A transaction left open, as a forgotten interactive session would.
    p = subprocess.Popen(["psql", DB, "-X", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, text=True, env={**ENV, "PGAPPNAME": "stuck-report"})
    p.stdin.write("begin;\nselect pg_current_xact_id();\nselect pg_sleep(600);\n")
    p.stdin.flush()
    STUCK.append(p)
    wait("the open transaction", lambda: sql("select count(*) from pg_stat_activity where application_name = 'stuck-report' "
                                             "and backend_xid is not null") == "1")
    psql_vars["stuck_pid"] = sql("select pid from pg_stat_activity where application_name = 'stuck-report'")

    def watermark_age():
        text = subprocess.run(["curl", "-fsS", f"http://127.0.0.1:{METRICS_PORT}/metrics"], capture_output=True, text=True).stdout
        m = re.search(r"^logdrain_watermark_age_seconds\{[^}]*\} ([0-9.e+-]+)$", text, re.M)
        return float(m.group(1)) if m else 0.0
    # The worker samples the watermark every 10 s: the runbook's reader sees it held.
    wait("the worker to see the held watermark", lambda: watermark_age() >= 1, seconds=25)
    return env, psql_vars, lambda: [q.kill() for q in STUCK]


def fixture_failover():
    env, psql_vars = with_drain("rb-failover", delivered=False)
    port = re.search(r":(\d+)/", DB).group(1)
    env["FAILOVER_URL"] = f"postgresql://postgres@127.0.0.1:1,127.0.0.1:{port}/{DB_NAME}?target_session_attrs=read-write"
    return env, psql_vars, None


def fixture_pgbouncer():
    env, psql_vars = with_drain("rb-pool", delivered=False)
    env["PGBOUNCER_URL"] = in_database(ENV["PGBOUNCER_URL"], DB_NAME)
    env["PGBOUNCER_ADMIN_URL"] = re.sub(r"/[^/?]+(\?.*)?$", "/pgbouncer", ENV["PGBOUNCER_URL"])
    return env, psql_vars, None


def fixture_rotating():
    env, psql_vars = with_drain("rb-rotate", delivered=False)
    secret = os.path.join(WORK, "new.secret")
    with open(secret, "w") as f:
        f.write(uuid.uuid4().hex * 3 + "\n")
    env["NEW_SECRET_FILE"] = secret
    return env, psql_vars, None


def plain(prefix, delivered=True):
    def make():
        env, psql_vars = with_drain(prefix, delivered)
        return env, psql_vars, None
    return make


FIXTURES = {
    "drain-auto-disabled.md": fixture_auto_disabled,
    "lag-one-drain.md": plain("rb-lag-one"),
    "lag-every-drain.md": fixture_lag_every,
    "worker-crashed-or-hangs.md": plain("rb-worker", delivered=False),
    "database-restart-or-failover.md": fixture_failover,
    "scaling-workers.md": plain("rb-scale", delivered=False),
    "pgbouncer.md": fixture_pgbouncer,
    "rotating-secrets.md": fixture_rotating,
    "retention-and-partitions.md": plain("rb-retention", delivered=False),
    "upgrading.md": plain("rb-upgrade", delivered=False),
    "lines-missing.md": plain("rb-missing"),
}


def run_block(path, line, lang, text, env, psql_vars):
    where = f"{os.path.relpath(path, ROOT)}:{line}"
    if lang == "sh":
        cmd = ["bash", "-c", "set -euo pipefail\n" + text]
        stdin = None
    else:
        cmd = ["psql", env["DATABASE_URL"], "-X", "-v", "ON_ERROR_STOP=1", "-P", "pager=off"]
        for k, v in psql_vars.items():
            cmd += ["-v", f"{k}={v}"]
        stdin = text
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=WORK, input=stdin, timeout=180)
    if r.returncode != 0:
        return f"{where}: {lang} block failed (exit {r.returncode}):\n{text}--- stdout\n{r.stdout[-2000:]}--- stderr\n{r.stderr[-2000:]}"
    return None


def main():
    names = sys.argv[1:] or sorted(FIXTURES)
    listed = set(re.findall(r"\(([a-z0-9-]+\.md)\)", open(os.path.join(RUNBOOKS, "README.md")).read()))
    files = sorted(f for f in os.listdir(RUNBOOKS) if f.endswith(".md") and f != "README.md")
    problems = [f"deploy/runbooks/{f}: no fixture in Tests/runbooks/run_runbooks.py" for f in files if f not in FIXTURES]
    problems += [f"deploy/runbooks/README.md does not link {f}" for f in files if f not in listed]
    worker = subprocess.Popen([os.path.join(BIN, "drain-worker"), "--name", "runbook-worker", "--allow-private-endpoints",
                               "--metrics-address", f"127.0.0.1:{METRICS_PORT}", "--interval", "0.2",
                               "--backoff-base", "0.05", "--backoff-max", "0.2"],
                              env=base_env(), stdout=open(os.path.join(WORK, "worker.log"), "w"), stderr=subprocess.STDOUT)
    count = 0
    try:
        wait("the worker's readiness", lambda: subprocess.run(["curl", "-fsS", f"http://127.0.0.1:{METRICS_PORT}/readyz"],
                                                             capture_output=True).returncode == 0)
        for name in names:
            path = os.path.join(RUNBOOKS, name)
            bs = blocks(path)
            if not bs:
                problems.append(f"deploy/runbooks/{name}: no sh or sql block to run")
                continue
            env_extra, psql_vars, cleanup = FIXTURES[name]()
            env = base_env()
            env.update(env_extra)
            try:
                for line, lang, text in bs:
                    count += 1
                    failure = run_block(path, line, lang, text, env, psql_vars)
                    if failure:
                        problems.append(failure)
                        break
                else:
                    print(f"run_runbooks: {name}: {len(bs)} blocks ok")
            finally:
                if cleanup:
                    cleanup()
    finally:
        worker.terminate()
        worker.wait(timeout=40)
        subprocess.run(["psql", ENV["DATABASE_URL"], "-XAtqc", f"drop database if exists {DB_NAME} with (force)"],
                       capture_output=True)
    if problems:
        for p in problems:
            print(f"run_runbooks: FAIL: {p}", file=sys.stderr)
        print(f"run_runbooks: worker log: {os.path.join(WORK, 'worker.log')}", file=sys.stderr)
        sys.exit(1)
    print(f"run_runbooks: OK ({count} blocks in {len(names)} runbooks)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Browser test of the dashboard (DESIGN §6) in headless Chromium, driven by Selenium.

A customer's path through the product: sign in with a token, fill in the create form, press
Test (the receiver gets a signed test line, nothing is saved), Save, watch the failure count rise
when the endpoint fails, Disable, Enable, Delete (which asks first). Each step is checked on the
page and through `drain-admin list --json`. Every control is found by its label or its text, as
a person (or a screen reader) finds it.

Needs the environment of deploy/test.sh (DATABASE_URL, DRAIN_BIN_DIR, RECEIVER_URL, RECEIVER_LOG,
RECEIVER_SECRET_FILE, DRAIN_CA_FILE). Screenshots go to $SCREENSHOT_DIR (default
.test-output/screenshots under the checkout).

    python3 Tests/browser/dashboard_test.py
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ENV = os.environ
BIN = ENV["DRAIN_BIN_DIR"]
RECEIVER = ENV["RECEIVER_URL"]
REPO = ENV.get("REPO_ROOT", os.getcwd())
SHOTS = ENV.get("SCREENSHOT_DIR", os.path.join(REPO, ".test-output", "screenshots"))
CHECKS = 0


def check(condition, what):
    global CHECKS
    CHECKS += 1
    if not condition:
        raise AssertionError(what)


def admin(*args, ok=True):
    r = subprocess.run([os.path.join(BIN, "drain-admin"), *args], capture_output=True, text=True, timeout=60)
    if ok and r.returncode != 0:
        raise AssertionError(f"drain-admin {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


def drains(account):
    return json.loads(admin("list", account, "--json").stdout)


def received(prefix):
    out = []
    with open(ENV["RECEIVER_LOG"], encoding="utf-8") as f:
        for line in f:
            if f'"path": "{prefix}' not in line[:400]:
                continue
            entry = json.loads(line)
            if entry["path"].startswith(prefix):
                out.append(entry)
    return out


def wait_until(seconds, what, predicate):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


class Serve:
    """drain-admin serve on a free port."""

    def __init__(self):
        self.log = open(os.path.join(SHOTS, "serve.log"), "w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "drain-admin"), "serve", "--listen", "127.0.0.1:0", "--allow-private-endpoints",
             "--ca-file", ENV["DRAIN_CA_FILE"]], stdout=self.log, stderr=self.log)
        self.url = None

        def started():
            self.log.seek(0)
            m = re.search(r"http://127\.0\.0\.1:\d+", self.log.read())
            if m:
                self.url = m.group(0)
            if self.proc.poll() is not None:
                raise AssertionError("drain-admin serve exited; see serve.log")
            return self.url is not None

        wait_until(30, "drain-admin serve", started)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Page:
    def __init__(self, driver, base):
        self.d = driver
        self.base = base

    def open(self, path="/"):
        self.d.get(self.base + path)

    def field(self, label):
        """The input a <label> names, found by the label's text."""
        for el in self.d.find_elements(By.TAG_NAME, "label"):
            if el.text.strip() == label:
                return self.d.find_element(By.ID, el.get_attribute("for"))
        raise AssertionError(f"no field labelled {label!r} on {self.d.current_url}")

    def fill(self, label, value):
        f = self.field(label)
        f.clear()
        f.send_keys(value)

    @staticmethod
    def gone(element):
        """True once `element` has left the document. While the old page is being replaced,
        Chromium may answer the check with an inspector error rather than a stale-element
        error ("Node with given id does not belong to the document"): both mean it is gone."""
        try:
            return expected_conditions.staleness_of(element)(None)
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise

    def press(self, text, row=None):
        """A button or link by its visible text (within a drain's table row, if given)."""
        scope = self.d.find_element(By.ID, f"drain-{row}") if row else self.d
        for el in scope.find_elements(By.CSS_SELECTOR, "button, a.button"):
            if el.text.strip() == text:
                page = self.d.find_element(By.TAG_NAME, "html")
                el.click()
                # Every control here loads a new page (no script): wait until it has.
                WebDriverWait(self.d, 30).until(lambda _: self.gone(page))
                return
        raise AssertionError(f"no control {text!r} on {self.d.current_url}")

    @property
    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def row(self, drain_id):
        return self.d.find_element(By.ID, f"drain-{drain_id}").text

    def shot(self, name):
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(1280, max(720, height + 140))
        time.sleep(0.3)
        path = os.path.join(SHOTS, name)
        self.d.save_screenshot(path)
        print(f"dashboard_test: screenshot {path}")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    account = f"web-{uuid.uuid4().hex[:8]}"
    admin_email = f"admin@{account}.example"
    admin("account", "create", account)
    admin("member", "add", account, admin_email, "--role", "admin")
    token = json.loads(admin("token", "create", account, admin_email, "--json").stdout)["token"]
    with open(ENV["RECEIVER_SECRET_FILE"], encoding="utf-8") as f:
        secret = f.read().rstrip("\n")
    path = f"/web/{uuid.uuid4().hex}"

    serve = Serve()
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(arg)
    options.binary_location = ENV.get("CHROMIUM", "/usr/bin/chromium")
    driver = webdriver.Chrome(service=Service(ENV.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    worker = None
    try:
        p = Page(driver, serve.url)

        # Sign in.
        p.open()
        check("Sign in" in p.text, "the sign-in page")
        p.fill("Token", "ldt_" + "0" * 64)
        p.press("Sign in")
        check("not valid" in p.text, "a wrong token is refused in words")
        p.fill("Token", token)
        p.press("Sign in")
        check("Log drains" in p.text and "No log drains yet." in p.text, "signed in, an empty account")
        cookie = driver.get_cookie("logdrain_session")
        check(cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", f"session cookie flags: {cookie}")

        # A refusal in words, naming the field by its label; nothing saved, nothing sent.
        p.fill("Name", "Datadog")
        p.fill("Endpoint URL", "http://insecure.example/")
        p.fill("Secret", secret)
        p.press("Save")
        check("Endpoint URL: must be an https:// URL" in p.text, "bad URL explained: " + p.text)
        check(drains(account) == [], "nothing saved after a refusal")

        # Test: a signed test line, nothing saved.
        p.fill("Endpoint URL", RECEIVER + path)
        p.fill("Secret", secret)
        p.fill("Sampling rate", "500")
        p.press("Test")
        check("Test line delivered" in p.text and "Nothing was saved" in p.text, "test result shown: " + p.text)
        tests = received(path)
        check(len(tests) == 1 and tests[0]["signature_valid"], f"the receiver got one signed test line: {len(tests)}")
        check(drains(account) == [], "Test saves nothing")
        p.shot("dashboard-form.png")

        # Save (the form kept what was typed, the secret included); create tests again first.
        p.press("Save")
        check("Log drain created" in p.text, "created: " + p.text)
        listed = drains(account)
        check(len(listed) == 1 and listed[0]["name"] == "Datadog" and listed[0]["sampling_rate"] == 500
              and listed[0]["enabled"], f"saved: {listed}")
        drain_id = listed[0]["id"]
        check(len(received(path)) == 2, "Save sent its own test line")
        check("enabled" in p.row(drain_id) and RECEIVER.split("//")[1] in p.row(drain_id), "row: " + p.row(drain_id))

        # The endpoint starts failing: the worker's failures show up on the page.
        fail_path = f"/status/500/web-{uuid.uuid4().hex}"
        admin("update", drain_id, "--as", admin_email, "--url", RECEIVER + fail_path, "--skip-test",
              "--allow-private-endpoints")
        account_id = next(a["id"] for a in json.loads(admin("account", "list", "--json").stdout) if a["name"] == account)
        worker = subprocess.Popen([os.path.join(BIN, "drain-worker"), "--name", f"web-{account}", "--allow-private-endpoints",
                                   "--ca-file", ENV["DRAIN_CA_FILE"], "--interval", "0.2", "--backoff-base", "0.05",
                                   "--backoff-max", "0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        line = json.dumps({"timestamp": "2026-01-01T00:00:00Z", "message": "hello from the browser test", "level": "info"})
        subprocess.run([os.path.join(BIN, "drain-admin"), "ingest", account], input=line + "\n", text=True, check=True)
        wait_until(30, "two failures", lambda: drains(account)[0]["consecutive_failures"] >= 2)
        worker.terminate()
        worker.wait(timeout=30)
        worker = None
        failures = drains(account)[0]["consecutive_failures"]
        p.open()
        row = p.row(drain_id)
        check(re.search(rf"\b{failures}\b", row) and "HTTP 500" in row, f"failures and last error on the page: {row}")
        p.shot("dashboard-list.png")

        # Disable, Enable.
        p.press("Disable", row=drain_id)
        check("Log drain disabled" in p.text and "disabled (manual)" in p.row(drain_id), "disabled on the page")
        check(drains(account)[0]["enabled"] is False and drains(account)[0]["disabled_reason"] == "manual", "disabled in the CLI")
        p.press("Enable", row=drain_id)
        check("Log drain enabled" in p.text and "enabled" in p.row(drain_id), "enabled on the page")
        check(drains(account)[0]["enabled"] is True, "enabled in the CLI")

        # Edit: the name, keeping URL and secret.
        p.press("Edit", row=drain_id)
        check("Edit log drain" in p.text, "the edit form")
        p.fill("Name", "Datadog EU")
        p.press("Save")
        check("Log drain saved" in p.text and "Datadog EU" in p.row(drain_id), "renamed on the page")
        check(drains(account)[0]["name"] == "Datadog EU", "renamed in the CLI")

        # Delete asks first; Cancel keeps it, Delete removes it.
        p.press("Delete", row=drain_id)
        check("Delete log drain Datadog EU?" in p.text, "asks first")
        p.shot("dashboard-delete.png")
        p.press("Cancel")
        check(len(drains(account)) == 1, "Cancel keeps it")
        p.press("Delete", row=drain_id)
        p.press("Delete")
        check("Log drain deleted" in p.text and "No log drains yet." in p.text, "deleted on the page")
        check(drains(account) == [], "deleted in the CLI")

        # Revoking the token ends the session.
        admin("token", "revoke", account, admin_email)
        p.open()
        check("Sign in" in p.text, "a revoked token's session is over")
        print(f"dashboard_test: OK ({CHECKS} checks)")
    finally:
        if worker:
            worker.kill()
        driver.quit()
        serve.stop()


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"dashboard_test: FAILED: {e}", file=sys.stderr)
        sys.exit(1)

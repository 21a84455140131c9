#!/usr/bin/python3
"""The dashboard in headless Chromium, against a real sagaflowd --demo.

Starts sagaflowd on a free loopback port with an admin token, its own SQLite file and its own
temp folder, waits for /readyz and the end of the demo, makes the sagas the demo does not leave
(one parked past its pivot, one waiting for a payment) through the API, then drives the pages
over WebDriver (python3-selenium, Debian's chromium and chromium-driver):

  - the list asks for the token once and shows sagas and the counts per flow;
  - a saga that ends changes its count on the open page (the event stream);
  - filtering by flow narrows the list, and the pager follows the API's `next` cursor;
  - a compensated saga's page draws its lifelines and compensation arrows (SVG data- attributes),
    a saga with retries its retry arrows;
  - Retry on a parked saga is sent and its outcome shown; Retry on a completed one shows the
    API's 409;
  - Cancel on a waiting saga moves it to compensating, then cancelled.

A screenshot of each page goes to --out (printed). A missing browser, driver or selenium fails
the test, naming the Debian package: it never skips. Every wait is explicit, with generous
time limits (a loaded 2-core machine); no sleep synchronises anything.

usage: dashboard_test.py --sagaflowd PATH --flows DIR --out DIR
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

TOKEN = "dashboard-test-token-0123456789"
START_TIMEOUT = 240  # s: the daemon's start and its demo on a loaded machine
WAIT = 60  # s: any one thing the browser should show
MARKUP_KEY = '<img src=x onerror="window.injected=1"><b>key</b>'

PROBE_FLOW = """name: dashboard_probe
version: 1
description: Parks past its pivot (the second create finds the user), for the dashboard test
input:
  user_id: string
steps:
  - name: create_user
    pivot: true
    irreversible: true
    command:
      service: users
      name: create
      input: { user_id: $input.user_id, username: $input.user_id, email: "probe@example.org" }
  - name: create_again
    irreversible: true
    command:
      service: users
      name: create
      input: { user_id: $input.user_id, username: $input.user_id, email: "probe@example.org" }
"""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def log(message):
    print(f"[dashboard_test] {message}", flush=True)


# ------------------------------------------------------------------------------------------
# What must be installed: fail loudly, naming the package.
def require_tools():
    missing = []
    browser = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    driver = shutil.which("chromedriver") or shutil.which("chromedriver", path="/usr/bin")
    if not browser:
        missing.append("chromium (no 'chromium' on PATH)")
    if not driver:
        missing.append("chromium-driver (no 'chromedriver' on PATH)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append(f"python3-selenium (not importable by {sys.executable})")
    if missing:
        raise Failure("the dashboard's browser test needs the Debian packages: " +
                      ", ".join(missing) + ". Run tools/setup (it installs them).")
    return browser, driver


# ------------------------------------------------------------------------------------------
# The daemon
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, binary, flows, workdir, out):
        self.binary, self.flows, self.workdir, self.out = binary, flows, workdir, out
        self.process = None
        self.url = None

    def start(self):
        # A port free a moment ago may be taken by another test by the time we bind: try again.
        for attempt in range(5):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.stdout = open(os.path.join(self.out, "sagaflowd.out"), "w")
            self.stderr = open(os.path.join(self.out, "sagaflowd.log"), "w")
            env = dict(os.environ, SAGAFLOW_ADMIN_TOKEN=TOKEN)
            for name in ("SAGAFLOW_AMQP_URL", "SAGAFLOW_DB", "SAGAFLOW_ADMIN_LISTEN",
                         "SAGAFLOW_CONFIG"):
                env.pop(name, None)
            self.process = subprocess.Popen(
                [self.binary, "--flows", self.flows, "--db", os.path.join(self.workdir, "sagaflow.db"),
                 "--admin-listen", f"127.0.0.1:{port}", "--demo"],
                stdout=self.stdout, stderr=self.stderr, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir)
            if self.wait_ready():
                return
            self.stop()
            if "cannot listen" not in self.log_text():
                break
            log(f"port {port} was taken; trying another (attempt {attempt + 2})")
        raise Failure("sagaflowd did not get ready; its log:\n" + self.log_text()[-4000:])

    def log_text(self):
        try:
            with open(os.path.join(self.out, "sagaflowd.log")) as f:
                return f.read()
        except OSError:
            return ""

    # Ready, and the demo done: its scenarios have all ended once the daemon logs that it serves.
    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        ready = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if not ready:
                try:
                    with urllib.request.urlopen(self.url + "/readyz", timeout=5) as r:
                        ready = r.status == 200
                except (urllib.error.URLError, OSError):
                    pass
            if ready and '"serving; Ctrl-C stops"' in self.log_text():
                return True
            time.sleep(0.2)  # polling interval, not a synchronisation
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for f in (getattr(self, "stdout", None), getattr(self, "stderr", None)):
            if f:
                f.close()

    # The admin API with the token.
    def api(self, method, path, body=None, content_type="application/json"):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + TOKEN)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def poll(what, predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)  # polling interval


# ------------------------------------------------------------------------------------------
# Sagas to look at
def history(daemon, saga_id):
    status, body = daemon.api("GET", f"/api/sagas/{saga_id}")
    check(status == 200, f"GET /api/sagas/{saga_id}: {status} {body}")
    return body


def all_sagas(daemon, **filters):
    sagas, after = [], None
    while True:
        query = "&".join(f"{k}={v}" for k, v in {**filters, "limit": 500}.items())
        status, body = daemon.api("GET", "/api/sagas?" + query + (f"&after={after}" if after else ""))
        check(status == 200, f"list: {status} {body}")
        sagas += body["sagas"]
        after = body["next"]
        if not after:
            return sagas


def prepare(daemon):
    """The sagas the test needs: picked from the demo, or started through the API."""
    sagas = {}
    # The compensated saga that undid the most steps.
    best = (0, None)
    for s in all_sagas(daemon, status="compensated"):
        h = history(daemon, s["id"])["history"]
        n = sum(1 for r in h if r["kind"] == "compensation_sent")
        if n > best[0]:
            best = (n, s["id"])
    check(best[1], "the demo left no compensated saga with a compensation")
    sagas["compensated"] = best[1]
    # A saga with a retried command (the demo's data platform that is down for a while).
    for s in all_sagas(daemon, status="completed"):
        h = history(daemon, s["id"])["history"]
        if any(r["kind"] == "command_sent" and r["detail"].get("attempt", 1) > 1 for r in h):
            sagas["retried"] = s["id"]
            break
    check("retried" in sagas, "the demo left no saga with a retried command")
    sagas["completed"] = all_sagas(daemon, status="completed")[0]["id"]

    # Parked: a flow whose step after the pivot fails (the user exists already).
    status, body = daemon.api("POST", "/api/flows", PROBE_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the probe flow: {status} {body}")
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": "dashboard_probe", "input": {"user_id": "dashboard-probe"},
        "wait": {"end": True}, "timeout_ms": 30000})
    check(status == 201 and body["status"] == "failed", f"the probe saga did not park: {status} {body}")
    sagas["failed"] = body["id"]

    # Waiting: a booking whose payment never comes (its wait times out in 30 minutes).
    # Its business key is markup: the pages must show it as text.
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": "booking_payment", "idempotency_key": MARKUP_KEY,
        "input": {"customer_id": "dashboard-test", "slot_id": "mon-10", "amount": 1500},
        "wait": {"step": "create_payment"}, "timeout_ms": 30000})
    check(status == 201, f"starting a booking: {status} {body}")
    waiting = body["id"]
    poll("the booking to wait for its payment",
         lambda: history(daemon, waiting)["saga"]["status"] == "waiting")
    sagas["waiting"] = waiting
    return sagas


# ------------------------------------------------------------------------------------------
# The browser
class Browser:
    def __init__(self, chromium, chromedriver, out, profile):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1400,1000", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking",
                    f"--user-data-dir={profile}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=chromedriver,
                          log_path=os.path.join(out, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT * 2)
        self.driver.set_script_timeout(WAIT)
        self.out = out
        self.shots = []
        self.console = []

    def quit(self):
        self.driver.quit()

    def wait(self, what, condition, timeout=WAIT):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda d: condition(d))
        except TimeoutException:
            self.screenshot("timeout-" + "".join(c if c.isalnum() else "-" for c in what)[:60])
            raise Failure(f"timed out after {timeout} s waiting for {what} on {self.driver.current_url}")

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        return self.wait(f"'{selector}'", lambda d: (self.css(selector) or [None])[0])

    def open(self, url):
        self.driver.get(url)

    def screenshot(self, name):
        # The whole page: the window as tall as the document.
        height = self.driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        self.driver.set_window_size(1400, max(800, min(int(height) + 40, 6000)))
        path = os.path.join(self.out, name + ".png")
        self.driver.save_screenshot(path)
        self.driver.set_window_size(1400, 1000)
        self.shots.append(path)
        return path

    def collect_console(self):
        for entry in self.driver.get_log("browser"):
            self.console.append(entry)

    def token_dialog_open(self):
        return bool(self.css("dialog#token-dialog[open]"))

    def enter_token(self):
        self.one("dialog#token-dialog[open] input[name=token]").send_keys(TOKEN)
        self.one("dialog#token-dialog[open] button[type=submit]").click()
        self.wait("the token dialog to close", lambda d: not self.token_dialog_open())

    def confirm(self, reason=None):
        self.one("dialog#confirm-dialog[open]")
        if reason is not None:
            self.one("dialog#confirm-dialog[open] input[name=reason]").send_keys(reason)
        self.one("#confirm-yes").click()
        self.wait("the confirmation to close", lambda d: not self.css("dialog#confirm-dialog[open]"))

    def action_result(self):
        def done(d):
            r = self.css("#action-result")
            if r and r[0].get_attribute("data-outcome") in ("accepted", "refused"):
                return r[0]
            return None
        return self.wait("the action's outcome", done)

    def saga_page(self, url, saga_id):
        self.open(f"{url}/sagas/{saga_id}")
        self.wait("the saga page", lambda d: self.css("body[data-state=ready] svg.sequence")
                  or self.token_dialog_open())
        check(not self.token_dialog_open(), "the saga page asked for the token again")
        return self.one("svg.sequence")


# ------------------------------------------------------------------------------------------
# The checks
def test_list(b, daemon):
    b.open(daemon.url + "/")
    b.wait("the token dialog", lambda d: b.token_dialog_open())
    b.enter_token()
    b.wait("the list", lambda d: b.css("table#sagas[data-state=ready] tbody tr[data-saga-id]"))
    b.wait("the counts", lambda d: b.css("#counts[data-state=ready] td.total"))

    status, body = daemon.api("GET", "/api/counts")
    check(status == 200, f"/api/counts: {status}")
    expected = {}
    for c in body["counts"]:
        expected.setdefault(c["flow"], {})[c["status"]] = c["count"]
    for flow, statuses in expected.items():
        for st, count in statuses.items():
            cell = b.css(f'#counts td.count[data-flow="{flow}"][data-status="{st}"]')
            check(cell, f"no count cell for {flow}/{st}")
            check(cell[0].get_attribute("data-count") == str(count),
                  f"count of {flow}/{st}: page {cell[0].get_attribute('data-count')}, API {count}")
        total = b.css(f'#counts td.total[data-flow="{flow}"]')[0].get_attribute("data-count")
        check(total == str(sum(statuses.values())), f"total of {flow}: {total}")
    check(len(expected) >= 9, f"counts for {len(expected)} flows only")
    rows = b.css("table#sagas tbody tr[data-saga-id]")
    all_count = sum(sum(s.values()) for s in expected.values())
    check(len(rows) == min(50, all_count), f"{len(rows)} rows on the first page of {all_count}")
    # A value that is markup shows as text and runs nothing.
    key_cells = [r.find_elements("css selector", "td")[3] for r in rows
                 if r.get_attribute("data-flow") == "booking_payment"]
    check(any(c.text == MARKUP_KEY for c in key_cells), "the markup key is not shown as text")
    check(not b.css("table#sagas img") and not b.css("table#sagas tbody b"),
          "a key became markup")
    check(b.driver.execute_script("return window.injected") is None, "a key's markup ran")
    log(f"list: {len(rows)} sagas, counts for {len(expected)} flows")
    b.screenshot("list")
    return expected


def test_live_count(b, daemon):
    """A saga that ends changes its count on the open page: the event stream, no timer."""
    flow, st = "user_registration", "completed"

    def shown():
        cell = b.css(f'#counts td.count[data-flow="{flow}"][data-status="{st}"]')
        return int(cell[0].get_attribute("data-count")) if cell else 0
    before = shown()
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": flow, "wait": {"end": True}, "timeout_ms": 30000,
        "input": {"user_id": "live-count", "username": "live-count",
                  "email": "live-count@example.test"}})
    check(status == 201 and body["status"] == st, f"the live-count saga: {status} {body}")
    b.wait(f"the {flow}/{st} count to become {before + 1}", lambda d: shown() == before + 1)
    log(f"live count: {flow}/{st} {before} -> {before + 1}")
    b.screenshot("list-live-count")


def test_filter_and_pages(b, daemon, counts):
    from selenium.webdriver.support.ui import Select
    flow = "points_charge"
    Select(b.one("#filters select[name=flow]")).select_by_value(flow)
    b.one("#apply").click()
    b.wait("the filtered list", lambda d: b.css(
        f'table#sagas[data-state=ready][data-query="flow={flow}"]'))
    rows = b.css("table#sagas tbody tr[data-saga-id]")
    flows = {r.get_attribute("data-flow") for r in rows}
    check(flows == {flow}, f"filtered by {flow}, the list shows {flows}")
    check(len(rows) == sum(counts[flow].values()), f"{len(rows)} {flow} sagas listed")
    check(f"flow={flow}" in b.driver.current_url, "the filter is not in the page's URL")
    log(f"filter: flow={flow} narrows the list to {len(rows)}")
    b.screenshot("list-filtered")

    # Pages of 25 through the `next` cursor.
    Select(b.one("#filters select[name=flow]")).select_by_value("")
    Select(b.one("#filters select[name=limit]")).select_by_value("25")
    b.one("#apply").click()
    b.wait("the first page of 25", lambda d: b.css(
        'table#sagas[data-state=ready][data-query="limit=25"][data-page="1"]'))
    first = [r.get_attribute("data-saga-id") for r in b.css("table#sagas tbody tr[data-saga-id]")]
    check(len(first) == 25, f"{len(first)} rows on a page of 25")
    b.one("#next").click()
    b.wait("the second page", lambda d: b.css('table#sagas[data-state=ready][data-page="2"]'))
    second = [r.get_attribute("data-saga-id") for r in b.css("table#sagas tbody tr[data-saga-id]")]
    check(second and not set(first) & set(second), "the second page repeats the first")
    b.one("#previous").click()
    b.wait("the first page again", lambda d: b.css('table#sagas[data-state=ready][data-page="1"]'))
    again = [r.get_attribute("data-saga-id") for r in b.css("table#sagas tbody tr[data-saga-id]")]
    check(again == first, "Previous does not come back to the first page")
    log(f"pages: {len(first)} then {len(second)} sagas")


def services_of(h):
    return {r["detail"]["type"].split(".")[0] for r in h
            if r["kind"] in ("command_sent", "compensation_sent")}


def test_compensated(b, daemon, saga_id):
    body = history(daemon, saga_id)
    b.saga_page(daemon.url, saga_id)
    lifelines = {g.get_attribute("data-lifeline") for g in b.css("svg.sequence g[data-lifeline]")}
    expected = {"orchestrator"} | {"service:" + s for s in services_of(body["history"])}
    check(expected <= lifelines, f"lifelines {lifelines}, expected at least {expected}")
    sent = sum(1 for r in body["history"] if r["kind"] == "compensation_sent")
    arrows = b.css('svg.sequence g.arrow[data-kind=compensation][data-compensation="true"]')
    check(len(arrows) == sent >= 1, f"{len(arrows)} compensation arrows for {sent} compensations")
    replies = b.css('svg.sequence g.arrow[data-kind="compensation-reply"]')
    check(len(replies) >= 1, "no compensation reply drawn")
    commands = b.css("svg.sequence g.arrow[data-kind=command]")
    check(len(commands) == sum(1 for r in body["history"] if r["kind"] == "command_sent"),
          "not every command is drawn")
    for a in arrows:
        to = a.get_attribute("data-to")
        check(to in lifelines and to.startswith("service:"), f"a compensation goes to {to}")
    check(b.css("svg.sequence g.note[data-kind=end]"), "no end note")
    check(b.one("body").get_attribute("data-status") == "compensated", "status not shown")
    # A message's record shows on a click.
    arrows[0].click()
    b.wait("the message's record", lambda d: b.css("#message:not([hidden]) pre"))
    log(f"compensated {saga_id}: {len(lifelines)} lifelines, {len(arrows)} compensation arrows")
    b.screenshot("saga-compensated")


def test_retried(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    retries = b.css('svg.sequence g.arrow[data-kind=command][data-retry="true"]')
    check(retries, "no retried command is marked")
    check(all(int(r.get_attribute("data-attempt")) > 1 for r in retries), "a retry without its attempt")
    check(b.css("svg.sequence g.note[data-kind=retry]"), "no retry note")
    log(f"retried {saga_id}: {len(retries)} retried commands marked")
    b.screenshot("saga-retried-commands")


def test_retry_parked(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    check(b.one("body").get_attribute("data-status") == "failed", "the probe saga is not failed")
    check(b.css("#failure:not([hidden])"), "the failure is not shown")
    b.screenshot("saga-failed")
    b.one("#retry").click()
    b.confirm()
    result = b.action_result()
    check(result.get_attribute("data-outcome") == "accepted",
          f"the retry was refused: {result.text}")
    check("Retry accepted" in result.text, f"the outcome reads {result.text!r}")
    # The step is sent again and fails again: the page follows it to failed, with the operator's
    # retry in the diagram.
    b.wait("the retried saga to park again", lambda d: b.css(
        "body[data-status=failed] svg.sequence g.arrow[data-kind=operator]"))
    attempts = b.css('svg.sequence g.arrow[data-kind=command][data-step="create_again"]')
    check(len(attempts) == 2, f"{len(attempts)} sends of create_again after the retry")
    log(f"retry of parked {saga_id}: {result.text}")
    b.screenshot("saga-retry-outcome")


def test_retry_refused(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    b.one("#retry").click()
    b.confirm()
    result = b.action_result()
    check(result.get_attribute("data-outcome") == "refused", "retrying a completed saga was accepted")
    check(result.get_attribute("data-http-status") == "409", "not the API's 409")
    check("conflict" in result.text, f"the API's error is not shown: {result.text!r}")
    log(f"retry of completed {saga_id} refused: {result.text}")
    b.screenshot("saga-retry-refused")


def test_cancel(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    check(b.one("body").get_attribute("data-status") == "waiting", "the booking is not waiting")
    check(MARKUP_KEY in b.one("#fields").text and not b.css("#fields img"),
          "the markup key is not shown as text")
    check(b.css("svg.sequence g.note[data-kind=wait]"), "the wait is not drawn")
    check(b.css("svg.sequence g[data-lifeline=events]"), "no events lifeline for the wait")
    b.screenshot("saga-waiting")
    b.one("#cancel").click()
    b.confirm(reason="dashboard test")
    result = b.action_result()
    check(result.get_attribute("data-outcome") == "accepted", f"the cancel was refused: {result.text}")
    check(result.get_attribute("data-status") in ("compensating", "cancelled"),
          f"after cancel the saga is {result.get_attribute('data-status')}")
    b.wait("the saga to end cancelled", lambda d: b.css(
        "body[data-status=cancelled] svg.sequence g.note[data-kind=end]"))
    check(b.css("svg.sequence g.arrow[data-kind=operator]"), "the cancel request is not drawn")
    check(len(b.css("svg.sequence g.arrow[data-kind=compensation]")) >= 2,
          "the payment and the booking were not both compensated")
    status = history(daemon, saga_id)["saga"]["status"]
    check(status == "cancelled", f"the API says {status}")
    log(f"cancel of waiting {saga_id}: {result.text}; now cancelled")
    b.screenshot("saga-cancelled")


# A flow that parks past its pivot when `second` is taken; `welcome` reads
# $steps.create_second.user_id, so a skip must give that field.
REPAIR_FLOW = """name: dashboard_repair
version: 1
description: Parks when second is taken, for the dashboard's Skip step and Edit data
input:
  user: string
  email: string
  second: string
  second_email: string
steps:
  - name: create_user
    pivot: true
    irreversible: true
    command: { service: users, name: create, input: { user_id: $input.user, username: $input.user, email: $input.email } }
  - name: create_second
    irreversible: true
    command: { service: users, name: create, input: { user_id: $input.second, username: $input.second, email: $input.second_email } }
    output: { user_id: $reply.user_id }
  - name: welcome
    irreversible: true
    command: { service: notifications, name: save_user, input: { user_id: $steps.create_second.user_id, email: $input.email, name: $input.user } }
"""


def test_skip_and_edit(b, daemon):
    def parked(user):
        status, body = daemon.api("POST", "/api/sagas", {
            "flow": "dashboard_repair", "wait": {"end": True}, "timeout_ms": 30000,
            "input": {"user": user, "email": user + "@example.org", "second": user,
                      "second_email": user + "@example.org"}})
        check(status == 201 and body["status"] == "failed", f"{user} did not park: {status} {body}")
        return body["id"]

    def submit(form, button):
        b.one(button).click()
        def done(d):
            r = b.css("#repair-result")
            if r and r[0].get_attribute("data-outcome") in ("accepted", "refused", "invalid"):
                return r[0]
            return None
        return b.wait(f"the outcome of {form}", done)

    def type_into(selector, text):
        el = b.one(selector)
        el.clear()
        el.send_keys(text)

    status, body = daemon.api("POST", "/api/flows", REPAIR_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the repair flow: {status} {body}")

    # Skip: an output without the field welcome reads is refused with the API's 422 naming it;
    # with it, the saga goes on and completes.
    skipped = parked("repair-skip")
    b.saga_page(daemon.url, skipped)
    b.wait("the repair section", lambda d: b.css("#repair-panel:not([hidden])"))
    type_into("#skip-output", '{"id": "nobody"}')
    type_into("#repair-actor", "dashboard-operator")
    type_into("#repair-reason", "created by hand")
    result = submit("the skip", "#skip")
    check(result.get_attribute("data-outcome") == "refused", f"the bad skip was accepted: {result.text}")
    check(result.get_attribute("data-http-status") == "422", "not the API's 422")
    check("output.user_id" in result.text, f"the missing field is not named: {result.text!r}")
    b.screenshot("saga-skip-refused")
    type_into("#skip-output", '{"user_id": "repair-skip-by-hand"}')
    result = submit("the skip", "#skip")
    check(result.get_attribute("data-outcome") == "accepted", f"the skip was refused: {result.text}")
    b.wait("the skipped saga to complete", lambda d: b.css("body[data-status=completed]"))
    saga = history(daemon, skipped)
    skip = [r for r in saga["history"] if r["kind"] == "operator_skip"]
    check(len(skip) == 1 and skip[0]["step"] == "create_second"
          and skip[0]["detail"]["actor"] == "dashboard-operator"
          and skip[0]["detail"]["reason"] == "created by hand",
          f"the skip's history record: {skip}")
    check(saga["saga"]["steps"]["welcome"] is not None
          and saga["saga"]["steps"]["create_second"] == {"user_id": "repair-skip-by-hand"},
          f"the steps after the skip: {saga['saga']['steps']}")
    log(f"skip of {skipped}: {result.text}")
    b.screenshot("saga-skipped")

    # Edit data: the input is shown; a merge with a fresh second user, then retry, completes.
    edited = parked("repair-edit")
    b.saga_page(daemon.url, edited)
    b.wait("the repair section", lambda d: b.css("#repair-panel:not([hidden])"))
    shown = b.wait("the input in the editor", lambda d: b.one("#edit-input").get_attribute("value"))
    check(json.loads(shown)["second"] == "repair-edit", f"the editor holds {shown!r}")
    type_into("#edit-input", '{"second": "repair-edit-2", "second_email": "other@example.org"}')
    type_into("#repair-reason", "second user was taken")
    result = submit("the edit", "#edit")
    check(result.get_attribute("data-outcome") == "accepted", f"the edit was refused: {result.text}")
    b.wait("the edited saga to complete", lambda d: b.css("body[data-status=completed]"))
    saga = history(daemon, edited)
    kinds = [r["kind"] for r in saga["history"]]
    check("operator_edit" in kinds and "operator_retry" in kinds, f"history kinds: {kinds}")
    check(saga["saga"]["data"]["second"] == "repair-edit-2", f"the input: {saga['saga']['data']}")
    log(f"edit of {edited}: {result.text}")
    b.screenshot("saga-edited")


# ------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sagaflowd", required=True)
    parser.add_argument("--flows", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.sagaflowd, args.flows, args.out = map(os.path.abspath, (args.sagaflowd, args.flows, args.out))

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith((".png", ".log", ".out")):
            os.remove(os.path.join(args.out, name))
    workdir = tempfile.mkdtemp(prefix="sagaflow-dashboard-")
    daemon = None
    browser = None
    ok = False
    try:
        chromium, chromedriver = require_tools()
        check(os.access(args.sagaflowd, os.X_OK), f"{args.sagaflowd} is not executable")
        daemon = Daemon(args.sagaflowd, args.flows, workdir, args.out)
        daemon.start()
        log(f"sagaflowd --demo ready at {daemon.url}")
        sagas = prepare(daemon)
        log("sagas: " + ", ".join(f"{k} {v}" for k, v in sagas.items()))

        browser = Browser(chromium, chromedriver, args.out, os.path.join(workdir, "profile"))
        counts = test_list(browser, daemon)
        test_live_count(browser, daemon)
        test_filter_and_pages(browser, daemon, counts)
        test_compensated(browser, daemon, sagas["compensated"])
        test_retried(browser, daemon, sagas["retried"])
        test_retry_parked(browser, daemon, sagas["failed"])
        test_retry_refused(browser, daemon, sagas["completed"])
        test_cancel(browser, daemon, sagas["waiting"])
        test_skip_and_edit(browser, daemon)

        browser.collect_console()
        broken = [e for e in browser.console
                  if "Content Security Policy" in e.get("message", "")
                  or "Uncaught" in e.get("message", "")]
        check(not broken, "the browser's console reports: " + json.dumps(broken, indent=1))
        ok = True
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    except Exception:  # a WebDriver error, say: the test fails with its trace
        traceback.print_exc()
    finally:
        if browser:
            try:
                browser.collect_console()
                with open(os.path.join(args.out, "console.log"), "w") as f:
                    json.dump(browser.console, f, indent=1)
            except Exception:
                pass
            for path in browser.shots:
                print(f"screenshot: {path}")
            try:
                browser.quit()
            except Exception:
                pass
        if daemon:
            daemon.stop()
            if not ok:
                print(f"sagaflowd's log: {os.path.join(args.out, 'sagaflowd.log')}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    print("dashboard_in_headless_chromium: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

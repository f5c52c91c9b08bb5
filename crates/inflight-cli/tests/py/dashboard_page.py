"""Drives `inflight dashboard` in headless Chromium (Playwright) for tests/dashboard.rs.

Usage: dashboard_page.py URL QUEUE SCREENSHOT

Loads the page, prints READY (the test then starts the workers), follows the page's numbers
without ever reloading until the queue shows "finished", then prints one JSON line: the final
numbers as the page shows them, the distinct `done` values seen, every request the page made,
the navigations, the failure rows, the limit rows, the stale workers and the page's text.
"""
import json
import sys
import time

from playwright.sync_api import sync_playwright

url, queue, screenshot = sys.argv[1], sys.argv[2], sys.argv[3]
FIELDS = ["pushed", "waiting", "in_flight", "done", "failed", "dead"]

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", "--disable-sync"],
    )
    page = browser.new_page(viewport={"width": 1360, "height": 1100})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    page.goto(url)
    card = f'section[data-queue="{queue}"]'
    page.wait_for_selector(card, timeout=20000)

    def numbers():
        return page.eval_on_selector(
            card,
            """(c, fields) => {
                const out = {};
                for (const f of fields) out[f] = Number(c.querySelector(`[data-field="${f}"]`).textContent.replace(/,/g, ''));
                out.state = c.querySelector('[data-field="state"]').textContent;
                return out;
            }""",
            FIELDS,
        )

    first = numbers()
    print("READY", json.dumps(first), flush=True)
    seen_done = [first["done"]]
    deadline = time.time() + 120
    while time.time() < deadline:
        now = numbers()
        if now["done"] != seen_done[-1]:
            seen_done.append(now["done"])
        if now["state"] == "finished":
            break
        time.sleep(0.1)
    # One more reading after "finished": the last one the server sends is final.
    time.sleep(1.5)
    final = numbers()
    failures = page.eval_on_selector_all(
        f"{card} [data-failure]", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    limits = page.eval_on_selector_all(
        "[data-limit]", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    stale = page.eval_on_selector_all(f"{card} tr.stale", "rows => rows.map(r => r.dataset.worker)")
    page.screenshot(path=screenshot, full_page=True)
    text = page.content() + page.inner_text("body")
    print(json.dumps({
        "final": final,
        "seen_done": seen_done,
        "requests": requests,
        "navigations": navigations,
        "failures": failures,
        "limits": limits,
        "stale": stale,
        "text": text,
        "updates": page.evaluate("document.body.dataset.updates"),
    }), flush=True)
    browser.close()

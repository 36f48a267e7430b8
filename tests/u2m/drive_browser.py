"""The test-side "open browser" hook: ``BRICKAUTH_BROWSER="python drive_browser.py %s"``, or
``python drive_browser.py <device login page> <user code>`` for an Entra device code sign-in.

Plays the user in a real headless Chromium (Debian's, through Playwright): fills the sandbox's Entra
device code, sign-in and consent pages or the workspace's OIDC sign-in page, then waits for brickauth's
landing page (or Entra's device sign-in done/declined page), saves a screenshot and its text. Reads:
  BRICKAUTH_TEST_BROWSER_USER / _PASSWORD   who signs in
  BRICKAUTH_TEST_BROWSER_CONSENT            accept (default) or cancel
  BRICKAUTH_TEST_BROWSER_OUT                folder for landing-N.png / landing-N.txt / pages-N.json
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]
KNOWN = "main.ok, main.fail, #i0116, #consentForm, #username, #debugDetails, #deviceForm, #deviceDone, " \
    "#deviceDeclined"
LAST = {"main.ok, main.fail": "landing", "#deviceDone": "device-done", "#deviceDeclined": "device-declined"}


def main(url: str, device_code: str = "") -> int:
    out = Path(os.environ["BRICKAUTH_TEST_BROWSER_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    n = len(list(out.glob("pages-*.json"))) + 1
    user = os.environ.get("BRICKAUTH_TEST_BROWSER_USER", "")
    password = os.environ.get("BRICKAUTH_TEST_BROWSER_PASSWORD", "")
    consent = os.environ.get("BRICKAUTH_TEST_BROWSER_CONSENT", "accept")
    seen: list[str] = []
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            for _ in range(10):
                # the next page we know (form_post pages submit themselves and pass by)
                page.wait_for_selector(KNOWN, state="attached")
                last = [name for selector, name in LAST.items() if page.locator(selector).count()]
                if last:  # brickauth's landing page, or Entra's "you may close this window"
                    seen.append(last[0])
                    break
                if page.locator("#deviceForm").count() and "entra-device-code" not in seen:
                    seen.append("entra-device-code")
                    page.fill("#otc", device_code)
                    with page.expect_navigation():
                        page.click("#idSIButton9")
                elif page.locator("#i0116").count():  # Entra sign-in
                    seen.append("entra-sign-in")
                    page.fill("#i0116", user)
                    page.fill("#i0118", password)
                    with page.expect_navigation():
                        page.click("#idSIButton9")
                elif page.locator("#consentForm").count():  # Entra consent
                    seen.append("entra-consent")
                    with page.expect_navigation():
                        page.click("#idSIButton9" if consent == "accept" else "#idBtn_Back")
                elif page.locator("#username").count():  # workspace OIDC sign-in
                    seen.append("databricks-sign-in")
                    page.fill("#username", user)
                    page.fill("#password", password)
                    with page.expect_navigation():
                        page.click("#sign-in")
                else:
                    seen.append("unexpected: " + page.title())
                    break
            page.screenshot(path=str(out / f"landing-{n}.png"), full_page=True)
            (out / f"landing-{n}.txt").write_text(page.inner_text("body"))
        finally:
            (out / f"pages-{n}.json").write_text(json.dumps(seen))
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

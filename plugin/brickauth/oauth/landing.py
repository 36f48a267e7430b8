"""The small HTML pages the loopback redirect shows in the browser after a sign-in.

Self-contained (no scripts, no external resources); every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f6f8;color:#1b1f24;
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px 40px;
max-width:560px}
h1{font-size:1.4rem;margin:0 0 12px}
.ok h1{color:#1a7f37}.fail h1{color:#b42318}
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:16px 0}
dt{color:#57606a}dd{margin:0;word-break:break-all}
.fix{background:#fff8e6;border-left:4px solid #d4a72c;padding:10px 14px;margin:16px 0}
code{background:#eef0f3;padding:1px 5px;border-radius:4px}
footer{color:#57606a;font-size:.85rem;margin-top:20px}
"""


def _page(kind: str, title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)} - brickauth</title>"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<style>{_STYLE}</style></head>"
        f"<body><main class=\"{kind}\"><h1>{escape(title)}</h1>{body}"
        "<footer>brickauth</footer></main></body></html>"
    )


def success_page(*, account: str | None, target: str, provider: str) -> str:
    """"Signed in": who signed in, to what, and that the tab can be closed."""
    rows = f"<dt>Signed in as</dt><dd id=\"account\">{escape(account or 'your account')}</dd>"
    rows += f"<dt>For</dt><dd id=\"target\">{escape(target)}</dd>"
    rows += f"<dt>Through</dt><dd>{escape(provider)}</dd>"
    return _page(
        "ok",
        "Signed in",
        f"<dl>{rows}</dl><p id=\"next\">You can close this tab and return to the terminal.</p>",
    )


def failure_page(*, cause: str, fix: str | None, code: str | None = None, detail: str | None = None) -> str:
    """"Sign-in failed": the cause and the fix in plain words."""
    body = f"<p id=\"cause\">{escape(cause)}</p>"
    if fix:
        body += f"<div class=\"fix\" id=\"fix\"><strong>How to fix it:</strong> {escape(fix)}</div>"
    if detail:
        body += f"<p><small>Identity provider said: <code>{escape(detail)}</code></small></p>"
    if code:
        explain = f"<code>brickauth doctor explain {escape(code)}</code>"
        body += f"<p><small>Error code {escape(code)} (run {explain} for more).</small></p>"
    body += "<p>You can close this tab; the terminal shows the same message.</p>"
    return _page("fail", "Sign-in failed", body)

"""HTML pages of the Entra emulator: sign-in, MFA, consent, device login, errors, form_post.

Field names and element ids follow the real sign-in page where scripts commonly target them
(``loginfmt``/``i0116``, ``passwd``/``i0118``, submit ``idSIButton9``).
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;background:#f2f2f2;margin:0}
.box{background:#fff;max-width:440px;margin:60px auto;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
input[type=text],input[type=email],input[type=password]{width:100%;padding:6px 0;margin:8px 0 16px;
border:0;border-bottom:1px solid #666;font-size:15px}
.btn{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;cursor:pointer}
.btn.secondary{background:#ccc;color:#000}
.error{color:#e81123;margin:8px 0}
.details{font-size:12px;color:#555;margin-top:24px;white-space:pre-wrap}
ul{padding-left:20px}
"""


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><div class="box"><div class="brand">Microsoft</div>{body}</div></body></html>'
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def sign_in(
    *, action: str, ctx: str, app_name: str, login_hint: str = "", error: str = "", details: str = ""
) -> str:
    err = f'<div id="usernameError" class="error" role="alert">{escape(error)}</div>' if error else ""
    det = f'<div class="details" id="debugDetails">{escape(details)}</div>' if details else ""
    return page(
        "Sign in to your account",
        f'<h1 id="loginHeader">Sign in</h1><p>to continue to {escape(app_name)}</p>{err}'
        f'<form method="post" action="{escape(action)}" id="signInForm">{_hidden("ctx", ctx)}'
        f'<input type="email" name="loginfmt" id="i0116" placeholder="Email, phone, or Skype" '
        f'value="{escape(login_hint)}" autocomplete="username" required>'
        '<input type="password" name="passwd" id="i0118" placeholder="Password" '
        'autocomplete="current-password">'
        '<input type="submit" id="idSIButton9" class="btn" value="Sign in"></form>'
        f"{det}",
    )


def mfa(*, action: str, ctx: str, upn: str, error: str = "") -> str:
    err = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    return page(
        "Enter code",
        f"<div>{escape(upn)}</div><h1>Enter code</h1>"
        "<p>Enter the code displayed in the authenticator app on your mobile device</p>"
        f'{err}<form method="post" action="{escape(action)}" id="mfaForm">{_hidden("ctx", ctx)}'
        '<input type="text" name="otc" id="idTxtBx_SAOTCC_OTC" inputmode="numeric" placeholder="Code" '
        "required>"
        '<input type="submit" id="idSubmit_SAOTCC_Continue" class="btn" value="Verify"></form>',
    )


def consent(
    *, action: str, ctx: str, upn: str, app_name: str, publisher: str, permissions: list[str], can_admin: bool
) -> str:
    items = "".join(f"<li>{escape(p)}</li>" for p in permissions)
    admin = (
        '<p><label><input type="checkbox" name="ConsentForOrg" id="ConsentForOrgCheckbox" value="true"> '
        "Consent on behalf of your organization</label></p>"
        if can_admin
        else ""
    )
    return page(
        "Permissions requested",
        f"<div>{escape(upn)}</div><h1>Permissions requested</h1>"
        f'<div id="appName"><b>{escape(app_name)}</b></div><div>{escape(publisher)}</div>'
        f'<p>This app would like to:</p><ul id="permissions">{items}</ul>'
        f'<form method="post" action="{escape(action)}" id="consentForm">{_hidden("ctx", ctx)}{admin}'
        "<p>Accepting these permissions means that you allow this app to use your data as specified in "
        "their terms "
        "of service and privacy statement.</p>"
        '<button type="submit" name="decision" value="cancel" id="idBtn_Back" class="btn secondary">'
        "Cancel</button> "
        '<button type="submit" name="decision" value="accept" id="idSIButton9" class="btn">'
        "Accept</button></form>",
    )


def error_page(
    *, aadsts_text: str, request_id: str, correlation_id: str, timestamp: str, app_name: str = ""
) -> str:
    app = f"<p>App name: {escape(app_name)}</p>" if app_name else ""
    return page(
        "Sign in to your account",
        '<h1 id="errorTitle">Sorry, but we\u2019re having trouble signing you in.</h1>'
        f'<div id="errorText" class="error">{escape(aadsts_text)}</div>'
        '<div class="details" id="debugDetails">Troubleshooting details\n'
        f"Request Id: {escape(request_id)}\nCorrelation Id: {escape(correlation_id)}\n"
        f"Timestamp: {escape(timestamp)}\nMessage: {escape(aadsts_text)}</div>{app}",
    )


def device_code_entry(*, action: str, error: str = "") -> str:
    err = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    return page(
        "Enter code",
        "<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>"
        f'{err}<form method="post" action="{escape(action)}" id="deviceForm">'
        '<input type="text" name="otc" id="otc" placeholder="Code" autocomplete="off" required>'
        '<input type="submit" id="idSIButton9" class="btn" value="Next"></form>',
    )


def device_done(*, app_name: str) -> str:
    return page(
        "Signed in",
        f'<h1>{escape(app_name)}</h1><p id="deviceDone">You have signed in to the '
        f"{escape(app_name)} application "
        "on your device. You may now close this window.</p>",
    )


def device_declined(*, app_name: str) -> str:
    return page(
        "Sign-in cancelled",
        f'<h1>{escape(app_name)}</h1><p id="deviceDeclined">You have declined to sign in to the '
        f"{escape(app_name)} application on your device. You may now close this window.</p>",
    )


def form_post(*, action: str, fields: dict[str, str]) -> str:
    inputs = "".join(_hidden(k, v) for k, v in fields.items())
    return (
        "<!DOCTYPE html><html><head><title>Working...</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="POST" name="hiddenform" action="{escape(action)}">{inputs}'
        '<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit">'
        "</noscript></form></body></html>"
    )

"""Network checks: DNS, TCP and TLS to the workspace and, for Entra flows, the authority (or the proxy)."""

from __future__ import annotations

import socket
import ssl

from brickauth.doctor.model import PLATFORM_TOKEN_FLOWS, Check, Context, Outcome
from brickauth.doctor.redact import Redactor
from brickauth.hosts import is_ip_address


def _endpoints(ctx: Context) -> list[tuple[str, str, int]]:
    plan = ctx.plan
    out: list[tuple[str, str, int]] = []
    if plan.hostname:
        out.append(("workspace", plan.hostname, plan.port))
    if plan.is_azure_flow and plan.authority_hostname and plan.auth_type not in PLATFORM_TOKEN_FLOWS:
        out.append(("identity provider", plan.authority_hostname, plan.authority_port))
    return out


def _talking_to(ctx: Context, role: str) -> None:
    """Record which service a multi-endpoint check is waiting on, so a hang names the right one."""
    ctx.state["talking_to"] = "idp" if role == "identity provider" else "workspace"


def _proxy_for(host: str, port: int) -> str | None:
    import urllib.request

    if urllib.request.proxy_bypass(host):  # honours NO_PROXY
        return None
    return urllib.request.getproxies().get("https")  # HTTPS_PROXY / https_proxy


def check_dns(ctx: Context) -> Outcome:
    lines = []
    for role, host, port in _endpoints(ctx):
        proxy = _proxy_for(host, port)
        if proxy:
            lines.append(f"{role} {host}: through proxy {Redactor()(proxy)}")
            continue
        if is_ip_address(host):
            lines.append(f"{role} {host}: an IP address")
            continue
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            return ctx.refusal(f"{role} {host} does not resolve", str(exc), "network.dns")
        lines.append(f"{role} {host}: {infos[0][4][0]}")
    return Outcome("ok", "; ".join(lines) or "nothing to resolve")


def check_tcp(ctx: Context) -> Outcome:
    lines = []
    for role, host, port in _endpoints(ctx):
        _talking_to(ctx, role)
        proxy = _proxy_for(host, port)
        target = (host, port)
        if proxy:
            from urllib.parse import urlsplit

            parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            target = (parts.hostname or "", parts.port or 8080)
        try:
            with socket.create_connection(target, timeout=ctx.step_timeout):
                pass
        except OSError as exc:
            what = f"cannot connect to {role} {target[0]}:{target[1]}" + (" (the proxy)" if proxy else "")
            return ctx.refusal(what, f"{exc}", "network.connection_refused")
        lines.append(f"{role} {target[0]}:{target[1]} open" + (" (proxy)" if proxy else ""))
    return Outcome("ok", "; ".join(lines))


def check_tls(ctx: Context) -> Outcome:
    lines = []
    cafile = ctx.plan.ca_bundle
    for role, host, port in _endpoints(ctx):
        _talking_to(ctx, role)
        if _proxy_for(host, port):
            try:
                ctx.session().head(f"https://{host}:{port}/", timeout=ctx.timeouts(), allow_redirects=False)
            except Exception as exc:
                return ctx.refusal(f"TLS to {role} {host} through the proxy failed", str(exc), None)
            lines.append(f"{role} {host}: certificate trusted (through proxy)")
            continue
        context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        try:
            with socket.create_connection((host, port), timeout=ctx.step_timeout) as raw:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    version = tls.version()
        except ssl.SSLError as exc:
            bundle = f" (CA bundle: {cafile})" if cafile else " (system CA store; REQUESTS_CA_BUNDLE not set)"
            return ctx.refusal(f"TLS to {role} {host} failed{bundle}", str(exc), None)
        except OSError as exc:
            return ctx.refusal(f"TLS to {role} {host} failed", str(exc), None)
        lines.append(f"{role} {host}: {version}, certificate trusted")
    return Outcome("ok", "; ".join(lines))


CHECKS: tuple[Check, ...] = (
    Check("network.dns", "DNS", check_dns, ("settings.host",), target="dns"),
    Check("network.tcp", "TCP connect", check_tcp, ("network.dns",), target="workspace"),
    Check("network.tls", "TLS and CA trust", check_tls, ("network.tcp",), target="workspace"),
)

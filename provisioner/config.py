"""Settings from the environment (AEP_*), and the sandbox precedence rule."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from provisioner.errors import ConfigError
from provisioner.http.limits import DEFAULT_TIMEOUT, MAX_TIMEOUT, MIN_TIMEOUT, finite_seconds
from provisioner.secrets import Secret

DEFAULT_SCOPES = "openid,session,AdobeID,read_organizations,additional_info.projectedProductContext"
DEFAULT_PLATFORM_URL = "https://platform.adobe.io"
DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com"
DEFAULT_SANDBOX = "prod"
# Adobe's sandbox names: all lowercase letters, digits and hyphens, starting with a letter or digit.
SANDBOX_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,255}")


def check_sandbox(value: str, source: str) -> str:
    """`value` if it is a sandbox name as Adobe spells them; else ConfigError naming `source`."""
    if SANDBOX_NAME.fullmatch(value):
        return value
    hint = value.lower() if SANDBOX_NAME.fullmatch(value.lower()) else "dev"
    raise ConfigError(
        f"{source} {value!r} is not a sandbox name: Adobe's are all lowercase letters, digits and "
        f"hyphens (e.g. {hint}); give it as {hint!r}"
    )


@dataclass(frozen=True)
class Settings:
    client_id: str
    org_id: str
    client_secret: Secret | None = None
    access_token: Secret | None = None
    scopes: str = DEFAULT_SCOPES
    platform_url: str = DEFAULT_PLATFORM_URL
    ims_url: str = DEFAULT_IMS_URL
    default_sandbox: str = DEFAULT_SANDBOX
    timeout: float = DEFAULT_TIMEOUT  # AEP_HTTP_TIMEOUT; provisioner.http.limits derives the rest

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [n for n in ("AEP_CLIENT_ID", "AEP_ORG_ID") if not env.get(n)]
        if not env.get("AEP_CLIENT_SECRET") and not env.get("AEP_ACCESS_TOKEN"):
            missing.append("AEP_CLIENT_SECRET (or AEP_ACCESS_TOKEN)")
        if missing:
            raise ConfigError(
                f"missing environment variable{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; export the credentials of your Adobe Developer Console "
                "project, or add --emulator to try the tool against a local emulator"
            )
        secret = env.get("AEP_CLIENT_SECRET")
        token = env.get("AEP_ACCESS_TOKEN")
        return cls(
            client_id=env["AEP_CLIENT_ID"],
            org_id=env["AEP_ORG_ID"],
            client_secret=Secret(secret) if secret else None,
            access_token=Secret(token) if token else None,
            scopes=env.get("AEP_SCOPES") or DEFAULT_SCOPES,
            platform_url=_url(env, "AEP_PLATFORM_URL", DEFAULT_PLATFORM_URL),
            ims_url=_url(env, "AEP_IMS_URL", DEFAULT_IMS_URL),
            default_sandbox=check_sandbox(env.get("AEP_SANDBOX") or DEFAULT_SANDBOX, "AEP_SANDBOX"),
            timeout=_timeout(env),
        )


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).rstrip("/")
    try:
        parts = urlsplit(value)
        _ = parts.port  # a broken IPv6 host or a port out of range raise here
    except ValueError as exc:
        raise ConfigError(
            f"{name}={value!r} is not a usable URL ({exc}); give it as https://host"
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not a usable URL; give it as https://host")
    refusal = clear_text_refusal(name, value)
    if refusal:
        raise ConfigError(refusal)
    return value


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost: the only hosts plain http:// may be used with."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def clear_text_refusal(name: str, url: str) -> str | None:
    """Why `url` (the value of variable `name`) may not be used, or None: plain http:// would
    send the client secret or the access token in clear to a host other than this machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None  # reported as an unusable URL where it is parsed
    if parts.scheme.lower() != "http" or is_loopback(host):
        return None
    return (
        f"{name}={url!r} uses plain http:// to {host}, which would send the credentials in "
        "clear; use https:// (plain http:// is allowed only for 127.0.0.0/8, ::1 and localhost)"
    )


def _timeout(env: Mapping[str, str]) -> float:
    raw = env.get("AEP_HTTP_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT
    seconds = finite_seconds(raw.strip())
    if seconds is None or not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise ConfigError(
            f"AEP_HTTP_TIMEOUT={raw!r} is not a number of seconds between {MIN_TIMEOUT:g} and "
            f"{MAX_TIMEOUT:g}; set it to one (default {DEFAULT_TIMEOUT:g}) or unset it"
        )
    return seconds


def resolve_sandbox(cli: str | None, manifest: str | None, settings_default: str) -> str:
    """--sandbox > manifest `sandbox:` > AEP_SANDBOX > prod."""
    return cli or manifest or settings_default

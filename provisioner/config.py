"""Settings from the environment (AEP_*), and the sandbox precedence rule."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from provisioner.errors import ConfigError
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
        )


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).rstrip("/")
    try:
        _ = urlsplit(value).port  # a broken IPv6 host or a port out of range raise here
    except ValueError as exc:
        raise ConfigError(
            f"{name}={value!r} is not a usable URL ({exc}); give it as https://host"
        ) from None
    return value


def resolve_sandbox(cli: str | None, manifest: str | None, settings_default: str) -> str:
    """--sandbox > manifest `sandbox:` > AEP_SANDBOX > prod."""
    return cli or manifest or settings_default

"""What an EPCIS node announces and enforces: capture limits, page sizes, who may call.

:class:`APISettings` is a frozen value; :func:`packtrail.api.create_app` takes one. The
defaults suit a node on a trading partner's network: API keys required, capture limited to
100,000 events or 256 MiB per document (announced in ``GS1-EPCIS-Capture-Limit`` and
``GS1-EPCIS-Capture-File-Size-Limit``), 30 events per page unless the client asks for more
(at most 10,000, the bound of GS1's OpenAPI).

>>> settings = APISettings(capture_max_events=500)
>>> settings.capture_max_events, settings.per_page_default, settings.auth_required
(500, 30, True)
>>> settings.jwt_enabled
False

``packtrail serve`` builds them from the environment (``PACKTRAIL_CAPTURE_MAX_EVENTS``,
``PACKTRAIL_JWT_PUBLIC_KEY``...), see :meth:`APISettings.from_env`:

>>> APISettings.from_env({"PACKTRAIL_CAPTURE_MAX_BYTES": "1048576"}).capture_max_bytes
1048576
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, Literal, TypeAlias

__all__ = ["EPC_FORMATS", "APISettings", "EPCFormatName"]

EPCFormatName: TypeAlias = Literal[
    "No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates"
]
"""Values of the ``GS1-EPC-Format`` header: how identifiers are written in responses."""

EPC_FORMATS: Final[tuple[EPCFormatName, ...]] = (
    "No_Preference",
    "Always_GS1_Digital_Link",
    "Always_EPC_URN",
    "Never_Translates",
)

_MiB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class APISettings:
    """Settings of the REST interface (the store has its own: its URL)."""

    capture_max_events: int = 100_000
    """Most events one capture call may carry (``GS1-EPCIS-Capture-Limit``); more gives ``413``."""
    capture_max_bytes: int = 256 * _MiB
    """Largest capture body in bytes (``GS1-EPCIS-Capture-File-Size-Limit``); larger gives ``413``."""
    per_page_default: int = 30
    """Events (or resource values) per page when the client gives no ``perPage``."""
    per_page_max: int = 10_000
    """Largest ``perPage`` a client may ask for; more gives ``400 QueryParameterException``."""
    max_url_length: int = 16_384
    """Longest request target (path and query string) accepted; longer gives ``414``."""
    auth_required: bool = True
    """False only for a node on a private loopback: every caller is then the local administrator,
    who sees every event."""
    public_discovery: bool = True
    """``OPTIONS`` answers without credentials: it says which methods, versions and limits a path has,
    nothing about the events stored (CORS preflights carry no credentials either)."""
    default_epc_format: EPCFormatName = "No_Preference"
    """How identifiers are written when the request has no ``GS1-EPC-Format``: ``No_Preference`` keeps
    them as captured (GS1's OpenAPI suggests ``Always_GS1_Digital_Link``; set that to follow it)."""
    jwt_public_key: str | None = None
    """PEM public key of the OAuth2 issuer (RS256/ES256 tokens); enables JWT bearer tokens."""
    jwt_secret: str | None = None
    """Shared secret of the OAuth2 issuer (HS256 tokens); enables JWT bearer tokens."""
    jwt_audience: str | None = None
    """The ``aud`` a token must carry (this node's identifier at the issuer); None skips the check."""
    jwt_issuer: str | None = None
    """The ``iss`` a token must carry; None skips the check."""
    jwt_algorithms: tuple[str, ...] = field(default=("RS256", "ES256", "HS256"))
    """Signature algorithms accepted (each also needs the matching key above)."""
    deliver_subscriptions: bool = True
    """The server process runs the webhook subscription dispatcher (``packtrail serve``); with several
    workers on one store, leave it on in one of them only."""
    vendor_version: str = "packtrail"
    """``GS1-Vendor-Version`` announced by ``OPTIONS``."""

    def __post_init__(self) -> None:
        for name in ("capture_max_events", "capture_max_bytes", "per_page_default", "per_page_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"APISettings.{name} must be a positive integer, got {value!r}")
        if self.per_page_default > self.per_page_max:
            raise ValueError(
                f"APISettings.per_page_default ({self.per_page_default}) exceeds per_page_max "
                f"({self.per_page_max})"
            )
        if self.default_epc_format not in EPC_FORMATS:
            raise ValueError(
                f"APISettings.default_epc_format must be one of {', '.join(EPC_FORMATS)}, "
                f"got {self.default_epc_format!r}"
            )

    @property
    def jwt_enabled(self) -> bool:
        """True when bearer tokens may be OAuth2 JWTs (a key or a secret is configured)."""
        return bool(self.jwt_public_key or self.jwt_secret)

    def jwt_keys(self) -> dict[str, str]:
        """Algorithm -> verification key, for the algorithms that have a key configured."""
        keys: dict[str, str] = {}
        for algorithm in self.jwt_algorithms:
            if algorithm.startswith("HS") and self.jwt_secret:
                keys[algorithm] = self.jwt_secret
            elif not algorithm.startswith("HS") and self.jwt_public_key:
                keys[algorithm] = self.jwt_public_key
        return keys

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> APISettings:
        """Settings from ``PACKTRAIL_<FIELD>`` variables (``PACKTRAIL_CAPTURE_MAX_EVENTS=500``),
        then ``overrides``. A key file may be given as ``PACKTRAIL_JWT_PUBLIC_KEY_FILE``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(f"PACKTRAIL_{spec.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls(), spec.name)
            values[spec.name] = _convert(spec.name, raw, default)
        key_file = env.get("PACKTRAIL_JWT_PUBLIC_KEY_FILE")
        if key_file and "jwt_public_key" not in values:
            with open(key_file, encoding="utf-8") as handle:
                values["jwt_public_key"] = handle.read()
        return replace(cls(), **{**values, **overrides})


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no"}:
            raise ValueError(f"PACKTRAIL_{name.upper()} must be true or false, got {raw!r}")
        return lowered in {"1", "true", "yes"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"PACKTRAIL_{name.upper()} must be an integer, got {raw!r}") from None
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw

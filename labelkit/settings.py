"""Settings from LABELKIT_* environment variables, read once per process (get_settings)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABELKIT_", extra="ignore")

    data_dir: Path = Path("./labelkit-data")
    database_url: str | None = None
    # Used to sign media URLs and other short-lived links. Generated and kept in the
    # data dir when not given, so a single machine needs no configuration.
    secret_key: str | None = None
    # The address people use to reach the portal; invite links are built on it.
    # Without it, the address of the browser that creates the invite is used.
    base_url: str | None = None
    env: str = "development"

    admin_email: str | None = None
    admin_password: str | None = None
    # Sign-up without an invite, for people whose email is in one of these domains.
    open_signup_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Trust OIDC emails the provider has not verified (for invite and account matching).
    trust_unverified_oidc_email: bool = False

    session_days: int = 14
    # Password sign-in: after this many failures in the window, an account (or, with the
    # higher number, an address) is refused until the window has passed.
    signin_max_failures: int = 5
    signin_max_failures_per_address: int = 50
    signin_window_minutes: int = 15
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For
    # names the browser's address; from anyone else the header is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    invite_days: int = 7
    # A password-reset link an admin sends works once, for this many hours.
    reset_hours: int = 24
    # Mail (optional): with an SMTP host, invite and password-reset links are also mailed,
    # and an invite for one exact address is confirmed by a link sent there. Port 465 speaks
    # TLS from the start; other ports upgrade with STARTTLS unless LABELKIT_SMTP_STARTTLS=false.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    lock_minutes: int = 30
    trash_days: int = 30
    max_upload_mb: int = 200
    # How often the label page's Submit tries a database it cannot reach (about two minutes
    # at the default) before it says so; the answer stays on the page either way.
    save_retry_attempts: int = 40
    allow_private_urls: bool = False
    # A folder on this machine admins may import from (media stays there, referenced as
    # Label Studio's /data/local-files/?d=<path under it>); unset: no server folders.
    local_files_root: Path | None = None
    # Tests only: password hashes at argon2's lowest cost (a hash takes 0.1 ms, not 200 ms),
    # so thousands of test accounts cost nothing. Refused in production.
    test_cheap_password_hashes: bool = False

    @field_validator("test_cheap_password_hashes")
    @classmethod
    def _never_in_production(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("env") == "production":
            raise ValueError("LABELKIT_TEST_CHEAP_PASSWORD_HASHES is for tests; it is refused in production")
        return value

    @field_validator("open_signup_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [d.strip().lower().lstrip("@") for d in value.split(",") if d.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        for proxy in value or []:
            ip_network(proxy, strict=False)  # a ValueError names the bad entry
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labelkit.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "exports"

    def signing_key(self) -> bytes:
        """The key for signed links: LABELKIT_SECRET_KEY, else one kept in the data dir."""
        if self.secret_key:
            if self.env == "production" and len(self.secret_key) < 32:
                raise ValueError("LABELKIT_SECRET_KEY must be at least 32 characters in production")
            return self.secret_key.encode()
        if self.env == "production":
            raise ValueError("LABELKIT_SECRET_KEY must be set in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            # Written aside, then linked into place: servers starting at once on a shared
            # data dir all end up with the one key that got there first, never half a file.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = self.data_dir / f".secret_key.{secrets.token_hex(8)}"
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()

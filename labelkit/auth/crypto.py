"""Random tokens (only their hashes are stored), password hashes (argon2), and secrets kept
encrypted in the database (S3 keys, model servers' passwords, headers and tokens: Fernet)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from labelkit.errors import InvalidInput
from labelkit.settings import get_settings

MIN_PASSWORD_LENGTH = 8


@cache
def _hasher_of(cheap: bool) -> PasswordHasher:
    """argon2 with its recommended parameters; in tests (LABELKIT_TEST_CHEAP_PASSWORD_HASHES)
    at its lowest cost. A hash carries its parameters, so either kind verifies anywhere."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if cheap else PasswordHasher()


def _hasher() -> PasswordHasher:
    return _hasher_of(get_settings().test_cheap_password_hashes)


@cache
def _dummy_hash(cheap: bool) -> str:
    return _hasher_of(cheap).hash("labelkit-dummy-password")


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are high-entropy, so a fast hash is enough; look-ups go by this value."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check, so timing does not tell which emails exist.
        _burn()
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    return None


def _burn() -> None:
    """Verify against a dummy hash made by the hasher real hashes come from (same parameters)."""
    cheap = get_settings().test_cheap_password_hashes
    with contextlib.suppress(VerifyMismatchError):
        _hasher_of(cheap).verify(_dummy_hash(cheap), "not the password")


class SecretUnreadable(InvalidInput):
    """A stored secret that no longer decrypts: the portal's secret key changed."""


def _fernet():
    from cryptography.fernet import Fernet

    from labelkit.settings import get_settings

    # The derivation stays as the first secrets (S3 storages) were written, so they still read.
    key = hashlib.sha256(b"labelkit cloud storage secrets\0" + get_settings().signing_key()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt_secret(token: str, what: str = "stored secret") -> str:
    """The secret, or SecretUnreadable naming `what` when the portal's secret key changed."""
    from cryptography.fernet import InvalidToken

    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(f"The {what} cannot be read (the portal's secret key changed); enter it again.") from None

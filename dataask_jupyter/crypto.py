"""Encrypted credentials: Fernet (AES-128-CBC + HMAC-SHA256, an AEAD construction).

Keys come from ``DATAASK_SECRET_KEY`` (``"new;old"`` while rotating) or, in personal mode
only, from a generated key file (mode 0600) in ``DATAASK_HOME``. Weak keys are refused:
a key must be a 32-byte url-safe base64 Fernet key, not a published example, and not
low-entropy. There is no plaintext fallback, ever.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .config import Settings
from .errors import ConfigError, CredentialError

# Keys that were published somewhere (docs, tutorials) or are trivially guessable.
_KNOWN_DEFAULT_RAW = {
    b"\x00" * 32,
    b"\xff" * 32,
    b"0" * 32,
    b"changeme" * 4,
    b"secret" * 5 + b"se",
    b"thisisnotasecretthisisnotasecret",
}
_MIN_DISTINCT_BYTES = 12  # a random 32-byte key has ~30 distinct byte values

KEY_HELP = (
    "Generate one with: python -c \"from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())\" and set DATAASK_SECRET_KEY."
)


def validate_key(key: str) -> bytes:
    """Return the key as bytes if it is a strong Fernet key, else raise :class:`ConfigError`.

    The error never contains the key itself.
    """
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ConfigError("The secret key is not url-safe base64.", hint=KEY_HELP) from None
    if len(raw) != 32:
        raise ConfigError(
            f"The secret key is too short: it must decode to 32 bytes, got {len(raw)}.", hint=KEY_HELP
        )
    if raw in _KNOWN_DEFAULT_RAW or len(set(raw)) < _MIN_DISTINCT_BYTES:
        raise ConfigError("The secret key is a known default or too predictable.", hint=KEY_HELP)
    return key.encode("ascii")


def _read_key_file(path: Path) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"The key file {path} is readable by other users (mode {mode:o}).",
            hint=f"Fix it with: chmod 600 {path}",
        )
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_key_file(path: Path, keys: list[str]) -> None:
    """Atomically write ``keys`` (newest first) to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(keys) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _create_key_file(path: Path) -> list[str]:
    """Create the personal key file unless another process just did; return its keys.

    The server extension and kernels start together: a plain write would let the last
    writer replace a key the first one already encrypted with. ``os.link`` publishes the
    fully written file only if none exists yet.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # someone else won: use their key
    finally:
        tmp.unlink(missing_ok=True)
    keys = _read_key_file(path)
    if not keys:
        raise ConfigError(f"The key file {path} is empty.", hint=KEY_HELP)
    return keys


def load_keys(settings: Settings, *, create: bool = True) -> list[str]:
    """Keys newest first, from the environment or the personal key file."""
    if settings.secret_keys:
        keys = list(settings.secret_keys)
    elif settings.team:
        raise ConfigError(
            "Team mode needs DATAASK_SECRET_KEY; credentials are never stored unencrypted.",
            hint=KEY_HELP,
        )
    elif settings.key_file.exists():
        keys = _read_key_file(settings.key_file)
        if not keys:
            raise ConfigError(f"The key file {settings.key_file} is empty.", hint=KEY_HELP)
    elif create:
        keys = _create_key_file(settings.key_file)
    else:
        raise ConfigError("No secret key is configured.", hint=KEY_HELP)
    for key in keys:
        validate_key(key)
    return keys


class CredentialCipher:
    """Encrypts and decrypts connection secrets with the newest key; decrypts with any."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError("No secret key is configured.", hint=KEY_HELP)
        self._fernets = [Fernet(validate_key(k)) for k in keys]
        self._multi = MultiFernet(self._fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialCipher:
        return cls(load_keys(settings))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the newest key. Same input twice gives different tokens (random IV)."""
        return self._multi.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, connection: str | None = None) -> str:
        """Authenticated decrypt; a wrong key or a tampered token raises :class:`CredentialError`."""
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            what = f"connection '{connection}'" if connection else "this connection"
            raise CredentialError(
                f"The stored credentials of {what} cannot be decrypted (wrong key or damaged data).",
                hint="Re-enter the credentials: dataask connection add NAME URL --replace "
                "(or fix DATAASK_SECRET_KEY).",
            ) from None

    def is_current(self, token: str) -> bool:
        """True if ``token`` already decrypts with the newest key."""
        try:
            self._fernets[0].decrypt(token.encode("ascii"))
            return True
        except (InvalidToken, ValueError):
            return False

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the newest key (raises CredentialError if undecryptable)."""
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise CredentialError("A stored credential cannot be decrypted with any configured key.") from None

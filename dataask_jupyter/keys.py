"""Key rotation: re-encrypt every stored secret under the newest key, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet

from .config import Settings
from .crypto import CredentialCipher, load_keys, write_key_file
from .errors import CredentialError
from .store import Repository


@dataclass(frozen=True)
class RotationReport:
    changed: int
    key_source: str  # "environment" | "key file"

    def to_dict(self) -> dict:
        return {"changed": self.changed, "key_source": self.key_source}


def rotate_keys(settings: Settings, repo: Repository) -> RotationReport:
    """Re-encrypt all secrets with the newest key.

    With ``DATAASK_SECRET_KEY="new;old"`` it re-encrypts what is not yet under ``new``;
    running it again changes nothing. With the personal key file it adds a fresh key in
    front, re-encrypts, then drops the old key; if a previous run was killed halfway (the
    file still lists two keys), it finishes that run instead of starting a new one.
    A secret that no key can decrypt aborts the whole run: nothing is committed.
    """
    from_env = bool(settings.secret_keys)
    if from_env:
        keys = load_keys(settings)
    else:
        keys = load_keys(settings)
        if len(keys) == 1:
            keys = [Fernet.generate_key().decode(), keys[0]]
            write_key_file(settings.key_file, keys)
    cipher = CredentialCipher(keys)

    def rewrite(name: str, token: str) -> str | None:
        if cipher.is_current(token):
            return None
        try:
            return cipher.rotate(token)
        except CredentialError:
            raise CredentialError(
                f"The secret of connection '{name}' cannot be decrypted with any configured key; "
                "nothing was changed.",
                hint=f"Re-enter it (dataask connection add {name} URL --replace) or add the missing old key.",
            ) from None

    changed = repo.rewrite_secrets(rewrite)
    if not from_env and len(keys) > 1:
        write_key_file(settings.key_file, keys[:1])
    return RotationReport(changed=changed, key_source="environment" if from_env else "key file")

"""Encrypted credentials (Fernet/MultiFernet) and key rotation, on real SQLite stores.

End-to-end credential cases against PostgreSQL (canary grep, CLI rotation, kill -9) live in
``test_security_credentials.py``.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat

import pytest
from cryptography.fernet import Fernet

from dataask_jupyter.config import Settings
from dataask_jupyter.crypto import CredentialCipher, load_keys, validate_key, write_key_file
from dataask_jupyter.errors import ConfigError, CredentialError
from dataask_jupyter.keys import rotate_keys
from dataask_jupyter.store import DEFAULT_WORKSPACE, open_store
from tests.foundation_fixtures import make_settings, new_key

WEAK_KEYS = {
    "zeros": base64.urlsafe_b64encode(b"\x00" * 32).decode(),
    "ones": base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    "ascii-zeros": base64.urlsafe_b64encode(b"0" * 32).decode(),
    "changeme": base64.urlsafe_b64encode(b"changeme" * 4).decode(),
    "pattern": base64.urlsafe_b64encode(bytes(range(4)) * 8).decode(),
    "short": base64.urlsafe_b64encode(os.urandom(16)).decode(),
    "long": base64.urlsafe_b64encode(os.urandom(48)).decode(),
    "not-base64": "this is not base64 at all!!",
    "non-ascii": "ключ" * 11,
    "empty-ish": "=",
}


# -- keys ---------------------------------------------------------------------------------------
def test_validate_key_accepts_generated_keys():
    for _ in range(20):
        key = Fernet.generate_key().decode()
        assert validate_key(key) == key.encode()


@pytest.mark.parametrize("name", sorted(WEAK_KEYS))
def test_sec_03_weak_keys_refused_without_echoing_them(name):
    key = WEAK_KEYS[name]
    with pytest.raises(ConfigError) as info:
        validate_key(key)
    msg = str(info.value)
    assert key not in msg
    assert "DATAASK_SECRET_KEY" in msg  # says how to fix it
    with pytest.raises(ConfigError):
        CredentialCipher([key])


def test_sec_03_known_default_key_message_is_clear():
    with pytest.raises(ConfigError, match="known default or too predictable"):
        validate_key(WEAK_KEYS["zeros"])
    with pytest.raises(ConfigError, match="too short"):
        validate_key(WEAK_KEYS["short"])


def test_sec_03_one_weak_key_in_a_rotation_list_is_refused(tmp_path):
    settings = make_settings(tmp_path, secret_keys=(new_key(), WEAK_KEYS["zeros"]))
    with pytest.raises(ConfigError):
        load_keys(settings)


def test_sec_03_team_mode_needs_an_environment_key(tmp_path):
    settings = make_settings(tmp_path / "home", mode="team")
    with pytest.raises(ConfigError, match="Team mode needs DATAASK_SECRET_KEY"):
        load_keys(settings)
    assert not (tmp_path / "home" / "secret.key").exists()  # no key file is made up in team mode


def test_from_env_reads_rotation_keys(tmp_path, monkeypatch):
    new, old = new_key(), new_key()
    monkeypatch.setenv("DATAASK_HOME", str(tmp_path))
    monkeypatch.setenv("DATAASK_SECRET_KEY", f" {new} ; {old} ;")
    monkeypatch.setenv("DATAASK_MODE", "TEAM")
    settings = Settings.from_env()
    assert settings.secret_keys == (new, old) and settings.team
    assert load_keys(settings) == [new, old]


def test_personal_key_file_generated_with_mode_0600(tmp_path):
    settings = make_settings(tmp_path / "home")
    keys = load_keys(settings)
    assert len(keys) == 1 and validate_key(keys[0])
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    assert load_keys(settings) == keys  # stable on reload
    assert not [p for p in settings.key_file.parent.iterdir() if p.name != "secret.key"]  # no temp files left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_sec_03_key_file_readable_by_others_refused(tmp_path, mode):
    settings = make_settings(tmp_path)
    write_key_file(settings.key_file, [new_key()])
    os.chmod(settings.key_file, mode)
    with pytest.raises(ConfigError, match="readable by other users") as info:
        load_keys(settings)
    assert "chmod 600" in str(info.value)


def test_key_file_empty_or_weak_refused(tmp_path):
    settings = make_settings(tmp_path)
    write_key_file(settings.key_file, [])
    with pytest.raises(ConfigError, match="empty"):
        load_keys(settings)
    write_key_file(settings.key_file, [WEAK_KEYS["zeros"]])
    with pytest.raises(ConfigError):
        load_keys(settings)


def test_load_keys_without_create(tmp_path):
    with pytest.raises(ConfigError, match="No secret key"):
        load_keys(make_settings(tmp_path), create=False)


def _first_start(home, gate, results):
    gate.wait(60)
    try:
        results.put(load_keys(Settings(home=home))[0])
    except BaseException as exc:  # noqa: BLE001
        results.put(repr(exc))


def test_concurrent_first_start_agrees_on_one_key(tmp_path):
    """Server extension and kernels start together: they must not each write their own key
    (the last writer would replace a key another process already encrypted with)."""
    ctx = multiprocessing.get_context("fork")  # already imported: they really start together
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        gate, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_first_start, args=(home, gate, results)) for _ in range(6)]
        for p in procs:
            p.start()
        gate.set()
        keys = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert len(set(keys)) == 1, f"processes disagree on the key: {keys}"
        assert (home / "secret.key").read_text().split() == [keys[0]]
        assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600


# -- cipher -------------------------------------------------------------------------------------
def test_sec_01_same_password_twice_gives_different_ciphertext():
    cipher = CredentialCipher([new_key()])
    a, b = cipher.encrypt("hunter2-canary"), cipher.encrypt("hunter2-canary")
    assert a != b
    assert "hunter2" not in a and "hunter2" not in b
    assert cipher.decrypt(a) == cipher.decrypt(b) == "hunter2-canary"


def test_round_trip_special_characters():
    cipher = CredentialCipher([new_key()])
    for secret in ("p@ss:w/o%rd#", "ключ ✓ \u00e9", " leading and trailing ", '{"type": "service_account"}'):
        assert cipher.decrypt(cipher.encrypt(secret)) == secret


@pytest.mark.parametrize("position", [0, 10, 40, -5, -1])
def test_sec_04_flipped_byte_fails_authentication(position):
    cipher = CredentialCipher([new_key()])
    token = cipher.encrypt("canary-secret")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[position] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(CredentialError) as info:
        cipher.decrypt(tampered, connection="sales")
    assert "'sales'" in str(info.value) and "Re-enter the credentials" in str(info.value)
    assert "canary" not in str(info.value)


def test_sec_04_wrong_key_fails():
    token = CredentialCipher([new_key()]).encrypt("canary-secret")
    with pytest.raises(CredentialError, match="cannot be decrypted"):
        CredentialCipher([new_key()]).decrypt(token)
    for junk in ("", "not a token", "gAAAAA", "é"):
        with pytest.raises(CredentialError):
            CredentialCipher([new_key()]).decrypt(junk)


def test_multifernet_decrypts_with_old_key_and_encrypts_with_new():
    new, old = new_key(), new_key()
    old_token = CredentialCipher([old]).encrypt("s3cret")
    both = CredentialCipher([new, old])
    assert both.decrypt(old_token) == "s3cret"
    assert not both.is_current(old_token)
    rotated = both.rotate(old_token)
    assert both.is_current(rotated) and CredentialCipher([new]).decrypt(rotated) == "s3cret"
    assert both.is_current(both.encrypt("x"))


# -- rotation on a real store -------------------------------------------------------------------
def _seed(repo, cipher: CredentialCipher, n: int, prefix: str = "c") -> dict[str, str]:
    ws = repo.get_workspace(DEFAULT_WORKSPACE).id
    plain = {}
    for i in range(n):
        name = f"{prefix}{i}"
        plain[name] = f"pw-{i}-{os.urandom(4).hex()}"
        repo.save_connection(ws, name, "postgres", f"postgresql://u{i}@db.example/d", cipher.encrypt(plain[name]), {}, "t")
    return plain


def _tokens(repo) -> dict[str, str]:
    ws = repo.get_workspace(DEFAULT_WORKSPACE).id
    return {c.name: c.secret for c in repo.list_connections(ws)}


def test_sec_05_env_rotation_then_rerun_changes_nothing(tmp_path):
    new, old = new_key(), new_key()
    repo = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    plain = _seed(repo, CredentialCipher([old]), 7)
    # one connection without a secret (e.g. a local file) is left alone
    repo.save_connection(repo.get_workspace("default").id, "nopw", "sqlite", "sqlite:///x.db", None, {}, "t")
    report = rotate_keys(make_settings(tmp_path, secret_keys=(new, old)), repo)
    assert report.changed == 7 and report.key_source == "environment"
    only_new = CredentialCipher([new])
    for name, token in _tokens(repo).items():
        if name != "nopw":
            assert only_new.decrypt(token) == plain[name]
    assert _tokens(repo)["nopw"] is None
    again = rotate_keys(make_settings(tmp_path, secret_keys=(new, old)), repo)
    assert again.changed == 0


def test_sec_05_corrupt_row_aborts_and_commits_nothing(tmp_path):
    new, old = new_key(), new_key()
    repo = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    _seed(repo, CredentialCipher([old]), 5, prefix="a")
    ws = repo.get_workspace("default").id
    repo.save_connection(ws, "broken", "postgres", "postgresql://u@h/d", CredentialCipher([new_key()]).encrypt("x"),
                         {}, "t")
    _seed(repo, CredentialCipher([old]), 5, prefix="z")  # rows after the corrupt one too
    before = _tokens(repo)
    with pytest.raises(CredentialError) as info:
        rotate_keys(make_settings(tmp_path, secret_keys=(new, old)), repo)
    assert "'broken'" in str(info.value) and "nothing was changed" in str(info.value)
    assert _tokens(repo) == before


def test_sec_05_key_file_rotation(tmp_path):
    settings = make_settings(tmp_path / "home")
    repo = open_store(settings.effective_store_url)
    (old,) = load_keys(settings)
    plain = _seed(repo, CredentialCipher([old]), 4)
    report = rotate_keys(settings, repo)
    assert report.changed == 4 and report.key_source == "key file"
    keys = load_keys(settings)
    assert len(keys) == 1 and keys[0] != old
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    for name, token in _tokens(repo).items():
        assert CredentialCipher(keys).decrypt(token) == plain[name]
    # every personal rotation makes a fresh key; it always re-encrypts everything
    second = rotate_keys(settings, repo)
    assert second.changed == 4 and load_keys(settings)[0] != keys[0]


def test_sec_05_interrupted_key_file_rotation_is_finished_by_rerun(tmp_path):
    """A run killed after writing ``new, old`` but before committing: the rerun must reuse
    ``new`` (not generate a third key) and then drop ``old``."""
    settings = make_settings(tmp_path / "home")
    repo = open_store(settings.effective_store_url)
    (old,) = load_keys(settings)
    plain = _seed(repo, CredentialCipher([old]), 3)
    new = new_key()
    write_key_file(settings.key_file, [new, old])  # the state a kill -9 leaves behind
    # rows already under ``new`` (e.g. re-entered since) are left as they are
    ws = repo.get_workspace("default").id
    rec = repo.get_connection(ws, "c0")
    repo.save_connection(ws, "c0", rec.family, rec.url, CredentialCipher([new, old]).rotate(rec.secret), {}, "t",
                         replace=True)
    report = rotate_keys(settings, repo)
    assert report.changed == 2
    assert load_keys(settings) == [new]
    for name, token in _tokens(repo).items():
        assert CredentialCipher([new]).decrypt(token) == plain[name]
    assert rotate_keys(settings, repo).changed == 3  # a fresh personal rotation after that


def test_manager_picks_up_a_key_rotated_by_another_process(tmp_path):
    """A kernel that loaded the key before `dataask rotate-key` ran elsewhere still opens
    connections afterwards (it reloads the key file once on a failed decrypt)."""
    from tests.foundation_fixtures import make_app, sqlite_file

    home = tmp_path / "home"
    data = sqlite_file(tmp_path / "d.sqlite")
    with make_app(home) as kernel, make_app(home) as other:
        kernel.connections.cipher  # noqa: B018  (loads the current key)
        ws = kernel.repo.get_workspace("default").id
        # a connection that carries a secret (SQLite ignores it; it only has to decrypt)
        kernel.repo.save_connection(ws, "lite", "sqlite", f"sqlite:///{data}",
                                    kernel.connections.cipher.encrypt("pw"), {}, "t")
        assert other.rotate_key().changed == 1
        assert kernel.sql("lite", "SELECT count(*) AS n FROM items").to_dict()["rows"] == [[5]]

"""FieldCipher from Python, and interchange with the phisafe CLI."""

import json
import os
import pathlib
import subprocess
import threading

import pytest

import phisafe

from phisafe import (
    AuditError,
    DecryptError,
    FieldCipher,
    InputError,
    KeyManagementError,
    PatternError,
    PhisafeError,
    PolicyDenied,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
WHO = dict(scope="patients.ssn", actor="api", purpose="treatment")


def cli():
    """The phisafe binary the test script built (cargo test builds it)."""
    path = os.environ.get("PHISAFE_BIN") or str(REPO / "target" / "debug" / "phisafe")
    assert os.path.exists(path), "build the CLI first (scripts/test.sh does)"
    return path


@pytest.fixture()
def keys(tmp_path):
    subprocess.run([cli(), "keys", "init", "--key-file", str(tmp_path / "kek")], check=True,
                   capture_output=True)
    return tmp_path


def make(keys, **kw):
    if "policy" not in kw:
        kw.setdefault("allow_all", True)
    return FieldCipher(f"file:{keys / 'kek'}", keys / "keyring.json", keys / "py-audit.jsonl", **kw)


def test_every_call_names_who_and_why(keys):
    c = make(keys)
    for who in (dict(WHO, actor=""), dict(WHO, purpose=" ")):
        with pytest.raises(InputError):
            c.encrypt_phi("219-09-9999", row="42", **who)
    # The audit log is the owner's alone.
    assert (keys / "py-audit.jsonl").stat().st_mode & 0o777 == 0o600


def test_version_is_the_package_version():
    import importlib.metadata

    import phisafe

    assert phisafe.__version__ == importlib.metadata.version("phisafe")


def test_no_policy_denies_everything_and_allow_all_is_explicit(keys):
    bare = FieldCipher(f"file:{keys / 'kek'}", keys / "keyring.json", keys / "bare.jsonl")
    with pytest.raises(PolicyDenied):
        bare.encrypt_phi("219-09-9999", row="42", **WHO)
    with pytest.raises(PolicyDenied):
        bare.rotate(scope="patients.ssn", actor="admin")
    policy = keys / "policy.toml"
    policy.write_text('[[allow]]\nroles = ["*"]\nscopes = ["*"]\nactions = ["*"]\npurposes = ["*"]\n')
    with pytest.raises(PatternError):  # "*" is not an action
        make(keys, policy=policy)
    policy.write_text('[[allow]]\nroles = ["*"]\nscopes = ["*"]\n'
                      'actions = ["encrypt", "decrypt"]\npurposes = ["*"]\n')
    with pytest.raises(PatternError):
        make(keys, policy=policy, allow_all=True)
    app = make(keys, policy=policy)
    env = app.encrypt_phi("219-09-9999", row="42", **WHO)
    assert app.decrypt_phi(env, row="42", **WHO) == "219-09-9999"
    # Data grants give no key management.
    with pytest.raises(PolicyDenied):
        app.rotate(scope="patients.ssn", actor="app")


def test_round_trip_binding_and_errors(keys):
    c = make(keys)
    env = c.encrypt_phi("219-09-9999", row="42", **WHO)
    assert env.startswith("psf:")
    assert c.decrypt_phi(env, row="42", **WHO) == "219-09-9999"
    raw = c.encrypt_phi(b"\x00\xff", row="42", binary=True, **WHO)
    assert isinstance(raw, bytes) and raw[0] == 0xF5
    assert c.decrypt_phi(raw, row="42", binary=True, **WHO) == b"\x00\xff"
    # Binary envelopes are taken byte for byte: a tag ending in whitespace
    # bytes (about 1 in 40) must not be trimmed.
    for i in range(300):
        sealed = c.encrypt_phi(f"v{i}", row="42", binary=True, **WHO)
        assert c.decrypt_phi(sealed, row="42", **WHO) == f"v{i}"
    assert c.decrypt_phi(env + "\n", row="42", **WHO) == "219-09-9999"
    with pytest.raises(DecryptError) as e:
        c.decrypt_phi(env, row="43", **WHO)
    assert "219" not in str(e.value) and isinstance(e.value, PhisafeError)
    with pytest.raises(DecryptError):
        c.decrypt_phi("psf:AAAA", row="42", **WHO)
    with pytest.raises(InputError):
        c.encrypt_phi(12, row="42", **WHO)
    with pytest.raises(InputError):
        c.encrypt_phi("x", row="42", scope="bad scope", actor="a", purpose="p")


def test_rotation_reencrypt_batches_and_blind_index(keys):
    c = make(keys)
    old = c.encrypt_phi("value", row="r", **WHO)
    assert c.rotate(scope="patients.ssn", actor="admin") == 2
    new = c.reencrypt(old, row="r", **WHO)
    assert new is not None and new != old
    assert c.decrypt_phi(new, row="r", **WHO) == "value"
    assert c.reencrypt(new, row="r", **WHO) is None

    items = [(f"row-{i}", f"value {i}") for i in range(50)]
    sealed = c.encrypt_many(items, **WHO)
    back = [(r, s) for (r, _), s in zip(items, sealed)]
    back[3] = ("row-4", back[3][1])  # wrong row for one value
    out = c.decrypt_many(back, **WHO)
    assert isinstance(out[3], DecryptError)
    assert [o for i, o in enumerate(out) if i != 3] == [v for i, (_, v) in enumerate(items) if i != 3]

    a = c.blind_index("219-09-9999", name="ssn", normalizer="digits", **WHO)
    assert a == c.blind_index("219 09 9999", name="ssn", normalizer="digits", **WHO)
    assert len(a) == 8
    with pytest.raises(PhisafeError):
        c.blind_index("CA", name="state", bits=16, distinct_values=60, **WHO)


def test_policy_denial_is_audited(keys):
    (keys / "policy.toml").write_text(
        '[[allow]]\nroles = ["intake"]\nscopes = ["patients.*"]\n'
        'actions = ["encrypt"]\npurposes = ["*"]\n'
    )
    c = make(keys, policy=keys / "policy.toml", sync_every_record=True)
    env = c.encrypt_phi("v", row="1", role="intake", **WHO)
    with pytest.raises(PolicyDenied):
        c.decrypt_phi(env, row="1", role="intake", **WHO)
    last = json.loads((keys / "py-audit.jsonl").read_text().splitlines()[-1])
    assert (last["action"], last["outcome"], last["actor"]) == ("decrypt", "denied", "api")


def test_bad_key_and_busy_audit_log(keys):
    with pytest.raises(KeyManagementError):
        FieldCipher("file:/no/such/key", keys / "k.json", keys / "a.jsonl")
    with pytest.raises(KeyManagementError):
        FieldCipher("env://PHISAFE_TEST_UNSET_VARIABLE", keys / "k.json", keys / "a.jsonl")
    c = make(keys)
    with pytest.raises(AuditError):
        make(keys)  # one writer per audit log
    del c


def test_interchange_with_the_cli_both_ways(keys):
    c = make(keys)
    base = [cli(), "--key-file", str(keys / "kek"), "--keyring", str(keys / "keyring.json"),
            "--audit-log", str(keys / "cli-audit.jsonl")]

    def run(cmd, data):
        args = [base[0], cmd] + base[1:] + ["--scope", "patients.ssn", "--row", "7"]
        return subprocess.run(args, input=data, capture_output=True, check=True).stdout

    from_python = c.encrypt_phi("078-05-1120", row="7", **WHO)
    assert run("decrypt", from_python.encode()) == b"078-05-1120"
    from_cli = run("encrypt", b"219-09-9999").decode().strip()
    assert c.decrypt_phi(from_cli, row="7", **WHO) == "219-09-9999"
    c.flush_audit()
    verify = subprocess.run([base[0], "audit", "verify"] + base[1:] + [str(keys / "py-audit.jsonl")],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and "chain intact" in verify.stdout, verify.stdout + verify.stderr


def test_threads_share_one_cipher(keys):
    c = make(keys)
    errors = []

    def work(k):
        try:
            for i in range(100):
                env = c.encrypt_phi(f"{k}-{i}", row=str(i), **WHO)
                assert c.decrypt_phi(env, row=str(i), **WHO) == f"{k}-{i}"
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _database_urls(tmp_path):
    urls = [f"sqlite://{tmp_path / 'app.db'}?mode=rwc"]
    base = os.environ.get("PHISAFE_TEST_PG_URL")
    if base:
        # A fresh database in the test script's cluster.
        name = f"py{os.getpid()}_{abs(hash(str(tmp_path)))}"
        subprocess.run(["psql", "-q", base, "-c", f"CREATE DATABASE {name}"], check=True,
                       capture_output=True)
        urls.append(base.replace("/postgres?", f"/{name}?", 1))
    return urls


def test_keyring_and_audit_in_a_database(keys):
    for url in _database_urls(keys):
        c = FieldCipher(f"file:{keys / 'kek'}", url, url, allow_all=True)
        env = c.encrypt_phi("219-09-9999", row="7", **WHO)
        assert c.decrypt_phi(env, row="7", **WHO) == "219-09-9999"
        # A second cipher (another worker) shares the keyring and chain.
        other = FieldCipher(f"file:{keys / 'kek'}", url, url, allow_all=True)
        assert other.decrypt_phi(env, row="7", **WHO) == "219-09-9999"
        with pytest.raises(DecryptError):
            other.decrypt_phi(env, row="8", **WHO)
        # The CLI verifies the chain and reads the same keyring.
        out = subprocess.run(
            [cli(), "audit", "verify", "--db", url, "--key-file", str(keys / "kek")],
            capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "intact" in out.stdout


def test_an_unreachable_database_is_a_clear_error(keys):
    with pytest.raises(KeyManagementError) as e:
        FieldCipher(f"file:{keys / 'kek'}", "postgres://nobody@localhost:1/none",
                    keys / "a.jsonl")
    assert "kek" not in str(e.value)


SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture
def hsm_key(tmp_path, monkeypatch):
    """A SoftHSM2 token with a KEK made by `phisafe keys init`; its spec."""
    assert os.path.exists(SOFTHSM), "apt-get install softhsm2 (scripts/test.sh does)"
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "py-test",
                    "--pin", "1234", "--so-pin", "5678"], check=True, capture_output=True)
    hsm = ["--pkcs11-module", SOFTHSM, "--pkcs11-token", "py-test", "--pkcs11-key", "kek-1"]
    env = dict(os.environ, PHISAFE_PKCS11_PIN="1234")
    made = subprocess.run([cli(), "keys", "init", *hsm], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return f"pkcs11:module={SOFTHSM};token=py-test;key=kek-1"


def test_master_key_in_an_hsm(tmp_path, monkeypatch, hsm_key):
    spec = hsm_key
    with pytest.raises(KeyManagementError, match="PHISAFE_PKCS11_PIN"):
        FieldCipher(spec, tmp_path / "ring.json", tmp_path / "audit.jsonl")
    # A wrong PIN, tried before any login (PKCS#11 login state is shared by
    # every session of the process).
    monkeypatch.setenv("PHISAFE_PKCS11_PIN", "0000")
    with pytest.raises(KeyManagementError):
        FieldCipher(spec, tmp_path / "ring.json", tmp_path / "audit0.jsonl")
    monkeypatch.setenv("PHISAFE_PKCS11_PIN", "1234")
    c = FieldCipher(spec, tmp_path / "ring.json", tmp_path / "audit.jsonl", allow_all=True)
    sealed = c.encrypt_phi("219-09-9999", row="1", **WHO)
    assert c.decrypt_phi(sealed, row="1", **WHO) == "219-09-9999"
    assert "pkcs11:py-test/kek-1" in (tmp_path / "ring.json").read_text()
    with pytest.raises(KeyManagementError, match="key"):
        FieldCipher("pkcs11:module=x;token=y", tmp_path / "r2.json", tmp_path / "a2.jsonl")


def test_an_hsm_key_after_a_fork(tmp_path, monkeypatch, hsm_key, in_child):
    # A worker forked after the parent used the HSM (gunicorn --preload)
    # opens a cipher of its own; the parent's fails closed there.
    spec = hsm_key
    monkeypatch.setenv("PHISAFE_PKCS11_PIN", "1234")
    parent = FieldCipher(spec, tmp_path / "ring.json", tmp_path / "audit-p.jsonl", allow_all=True)
    sealed = parent.encrypt_phi("219-09-9999", row="1", **WHO)

    def child():
        mine = FieldCipher(spec, tmp_path / "ring.json", tmp_path / "audit-c.jsonl", allow_all=True)
        plain = mine.decrypt_phi(sealed, row="1", **WHO)
        fresh = mine.encrypt_phi("536-22-1837", row="2", **WHO)
        try:
            parent.decrypt_phi(sealed, row="1", **WHO)
            inherited = "worked"
        except Exception as e:  # the parent's cipher must fail closed
            inherited = type(e).__name__
        return [plain, fresh, inherited]

    plain, fresh, inherited = in_child(child)
    assert plain == "219-09-9999"
    assert parent.decrypt_phi(fresh, row="2", **WHO) == "536-22-1837"
    assert inherited != "worked"


def test_a_forked_worker_draws_its_own_nonces(keys, in_child):
    # gunicorn --preload: a cipher made before the fork, a worker after.
    parent = make(keys)
    parent.encrypt_phi("warm-up", row="1", **WHO)  # seeds this thread's generator

    def child():
        own = FieldCipher(f"file:{keys / 'kek'}", keys / "keyring.json", keys / "child.jsonl", allow_all=True)
        sealed = own.encrypt_phi(b"x", row="1", binary=True, **WHO)
        own.flush_audit()
        return sealed.hex()

    from_child = bytes.fromhex(in_child(child))
    mine = parent.encrypt_phi(b"x", row="1", binary=True, **WHO)
    # Binary layout (docs/FORMAT.md): the 24-byte nonce at offset 7; its
    # last 12 bytes are drawn per value. A child replaying the parent's
    # generator would draw the same ones.
    assert from_child[19:31] != mine[19:31]
    assert parent.decrypt_phi(from_child, row="1", binary=True, **WHO) == b"x"


def test_a_cipher_made_before_fork_fails_closed_in_the_child(keys, in_child):
    ciphers = [make(keys)] + [FieldCipher(f"file:{keys / 'kek'}", url, url, allow_all=True)
                              for url in _database_urls(keys)]
    for c in ciphers:
        env = c.encrypt_phi("219-09-9999", row="7", **WHO)

        def child():
            errors = []
            for call in (lambda: c.encrypt_phi("x", row="7", **WHO),
                         lambda: c.decrypt_phi(env, row="7", **WHO)):
                try:
                    call()
                    errors.append(None)
                except AuditError as e:
                    errors.append(str(e))
            return errors

        # Neither a hang (the writer thread stayed in the parent) nor a
        # second writer on the parent's chain: a clear error.
        errors = in_child(child)
        assert all(e and "forked" in e and "after the fork" in e for e in errors), errors
        # The parent is unaffected and its chain still verifies.
        assert c.decrypt_phi(env, row="7", **WHO) == "219-09-9999"
        c.flush_audit()
    verify = subprocess.run([cli(), "audit", "verify", "--key-file", str(keys / "kek"),
                             "--keyring", str(keys / "keyring.json"),
                             str(keys / "py-audit.jsonl")], capture_output=True, text=True)
    assert verify.returncode == 0 and "chain intact" in verify.stdout, verify.stdout + verify.stderr


def test_generate_key_and_verify_audit_from_python(tmp_path):
    kid = phisafe.generate_key(tmp_path / "kek")
    assert kid.startswith("local:") and oct((tmp_path / "kek").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(KeyManagementError):
        phisafe.generate_key(tmp_path / "kek")  # never overwritten
    key, ring, log = f"file:{tmp_path / 'kek'}", tmp_path / "ring.json", tmp_path / "audit.jsonl"
    c = FieldCipher(key, ring, log, allow_all=True)
    env = c.encrypt_phi("219-09-9999", row="1", **WHO)
    c.decrypt_phi(env, row="1", **WHO)
    c.flush_audit()
    del c
    got = phisafe.verify_audit(log, key, ring)
    assert got["intact"] and got["records"] >= 2 and got["first_bad_line"] is None
    assert got["head_seq"] == got["records"] - 1 and len(got["head_mac"]) == 64  # seq from 0
    # A checkpoint kept elsewhere shows records cut off the end.
    assert phisafe.audit_checkpoint(log, key, ring, tmp_path / "head.json") == got["head_seq"]
    assert phisafe.verify_audit(log, key, ring, checkpoint=tmp_path / "head.json")["intact"]
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n")
    assert phisafe.verify_audit(log, key, ring)["intact"]  # the chain alone cannot tell
    cut = phisafe.verify_audit(log, key, ring, checkpoint=tmp_path / "head.json")
    assert not cut["intact"] and "cut off the end" in cut["reason"]
    lines[0] = lines[0].replace('"actor":"api"', '"actor":"eve"')
    log.write_text("\n".join(lines) + "\n")
    bad = phisafe.verify_audit(log, key, ring)
    assert not bad["intact"] and bad["first_bad_line"] == 1 and bad["records"] == 0

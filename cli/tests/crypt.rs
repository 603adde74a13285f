//! `phisafe keys`, `encrypt`, `decrypt` and `audit verify`, run as users
//! run them, including processes killed in the middle of key rotation.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;
use support::ok;

fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phisafe"))
        .args(args)
        .current_dir(dir)
        .env_remove("PHISAFE_KEY_FILE")
        .env_remove("PHISAFE_KEYRING")
        .env_remove("PHISAFE_AUDIT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading its input closes the pipe: the
    // write may then fail, and the exit status is what the test checks.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SCOPE: [&str; 2] = ["--scope", "patients.ssn"];

fn encrypt(dir: &Path, row: &str, value: &str) -> String {
    let mut args = vec!["encrypt"];
    args.extend(SCOPE);
    args.extend(["--row", row, "--actor", "tester"]);
    ok(&run(dir, &args, value.as_bytes())).trim_end().to_string()
}

fn decrypt(dir: &Path, row: &str, envelope: &str) -> Output {
    let mut args = vec!["decrypt"];
    args.extend(SCOPE);
    args.extend(["--row", row, "--actor", "tester"]);
    run(dir, &args, envelope.as_bytes())
}

#[test]
fn round_trip_binding_rotation_destroy_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["keys", "init"], b""));
    let again = run(d, &["keys", "init"], b"");
    assert_eq!(again.status.code(), Some(2));
    assert!(err(&again).contains("refusing to overwrite"), "{}", err(&again));

    let env1 = encrypt(d, "p42", "219-09-9999");
    assert!(env1.starts_with("psf:"));
    assert_eq!(ok(&decrypt(d, "p42", &env1)), "219-09-9999");
    let wrong = decrypt(d, "p43", &env1);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(err(&wrong).contains("decryption failed"), "{}", err(&wrong));
    assert!(!err(&wrong).contains("219"), "error must not echo data");

    let mut rotate = vec!["keys", "rotate"];
    rotate.extend(SCOPE);
    ok(&run(d, &rotate, b""));
    let env2 = encrypt(d, "p42", "078-05-1120");
    assert_eq!(ok(&decrypt(d, "p42", &env1)), "219-09-9999");
    assert_eq!(ok(&decrypt(d, "p42", &env2)), "078-05-1120");

    let mut destroy = vec!["keys", "destroy", "--version", "1"];
    destroy.extend(SCOPE);
    let refused = run(d, &destroy, b"");
    assert_eq!(refused.status.code(), Some(2));
    assert!(err(&refused).contains("--confirm"), "{}", err(&refused));
    assert_eq!(ok(&decrypt(d, "p42", &env1)), "219-09-9999");
    destroy.extend(["--confirm", "destroy patients.ssn v1"]);
    ok(&run(d, &destroy, b""));
    assert!(err(&decrypt(d, "p42", &env1)).contains("destroyed"));
    assert_eq!(ok(&decrypt(d, "p42", &env2)), "078-05-1120");

    // KEK rotation: the new key reads everything, the old one nothing.
    ok(&run(d, &["keys", "init", "--key-file", "new.key"], b""));
    ok(&run(d, &["keys", "rewrap", "--new-key-file", "new.key"], b""));
    let mut args = vec!["decrypt", "--key-file", "new.key", "--row", "p42"];
    args.extend(SCOPE);
    assert_eq!(ok(&run(d, &args, env2.as_bytes())), "078-05-1120");
    let old = decrypt(d, "p42", &env2);
    assert!(err(&old).contains("keys rewrap"), "{}", err(&old));

    let list = ok(&run(d, &["keys", "list"], b""));
    assert!(list.contains("destroyed") && list.contains("active"), "{list}");
    assert!(!list.contains("wrapped"), "{list}");

    let verify =
        ok(&run(d, &["audit", "verify", "--key-file", "new.key"], b""));
    assert!(verify.contains("chain intact"), "{verify}");
    let log = std::fs::read_to_string(d.join("phisafe-audit.jsonl")).unwrap();
    assert!(!log.contains("219-09-9999") && !log.contains("078-05-1120"));
    for action in [
        "key_create",
        "encrypt",
        "decrypt",
        "key_rotate",
        "key_destroy",
        "key_rewrap",
    ] {
        assert!(
            log.contains(&format!("\"action\":\"{action}\"")),
            "no {action} record"
        );
    }
    assert!(log.contains("\"outcome\":\"failed\""));
    std::fs::write(
        d.join("phisafe-audit.jsonl"),
        log.replacen("tester", "someone", 1),
    )
    .unwrap();
    let broken = run(d, &["audit", "verify", "--key-file", "new.key"], b"");
    assert_eq!(broken.status.code(), Some(1));
    assert!(ok_or_one(&broken).contains("chain broken at line"));
}

fn ok_or_one(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn policy_file_denies_and_the_denial_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["keys", "init"], b""));
    std::fs::write(
        d.join("policy.toml"),
        "[[allow]]\nroles = [\"intake\"]\nscopes = [\"patients.*\"]\nactions = [\"encrypt\"]\npurposes = [\"*\"]\n",
    )
    .unwrap();
    let base = ["--policy", "policy.toml", "--role", "intake", "--row", "r1"];
    let mut args = vec!["encrypt"];
    args.extend(SCOPE);
    args.extend(base);
    let env = ok(&run(d, &args, b"value")).trim_end().to_string();
    let mut args = vec!["decrypt"];
    args.extend(SCOPE);
    args.extend(base);
    let denied = run(d, &args, env.as_bytes());
    assert_eq!(denied.status.code(), Some(2));
    assert!(err(&denied).contains("policy denies"), "{}", err(&denied));
    assert!(denied.stdout.is_empty());
    let log = std::fs::read_to_string(d.join("phisafe-audit.jsonl")).unwrap();
    assert!(log.lines().last().unwrap().contains("\"outcome\":\"denied\""));
}

/// Kills `keys rotate` at random points, many times; the keyring must
/// always load, every value sealed so far must decrypt, and the audit
/// chain must verify.
#[test]
fn killed_mid_rotation_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["keys", "init"], b""));
    let mut sealed = vec![(
        "r0".to_string(),
        "value 0".to_string(),
        encrypt(d, "r0", "value 0"),
    )];
    let mut seed = 0x9e37_79b9_u32;
    for i in 1..=25 {
        let mut args = vec!["keys", "rotate"];
        args.extend(SCOPE);
        let mut child = Command::new(env!("CARGO_BIN_EXE_phisafe"))
            .args(&args)
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        std::thread::sleep(Duration::from_micros(u64::from(seed % 12_000)));
        let _ = child.kill();
        let _ = child.wait();
        ok(&run(d, &["keys", "list"], b""));
        let row = format!("r{i}");
        let value = format!("value {i}");
        let env = encrypt(d, &row, &value);
        sealed.push((row, value, env));
    }
    for (row, value, env) in &sealed {
        assert_eq!(&ok(&decrypt(d, row, env)), value);
    }
    let verify = ok(&run(d, &["audit", "verify"], b""));
    assert!(verify.contains("chain intact"), "{verify}");
}

/// The master key in SoftHSM2: init in the HSM, encrypt and decrypt
/// through it, then rewrap onto a key file.
#[cfg(feature = "pkcs11")]
#[test]
fn pkcs11_master_key_in_softhsm() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    assert!(
        Path::new(MODULE).exists(),
        "SoftHSM2 is not installed: apt-get install softhsm2 (scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "cli-test",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let hsm = |args: &[&str], stdin: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phisafe"))
            .args(args)
            .args([
                "--pkcs11-module",
                MODULE,
                "--pkcs11-token",
                "cli-test",
                "--pkcs11-key",
                "kek-1",
            ])
            .current_dir(d)
            .env("SOFTHSM2_CONF", &conf)
            .env("PHISAFE_PKCS11_PIN", "1234")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    };
    let out = hsm(&["keys", "init"], b"");
    assert!(
        err(ok_status(&out)).contains("pkcs11:cli-test/kek-1"),
        "{}",
        err(&out)
    );
    assert!(!d.join("phisafe.key").exists(), "no key file for an HSM key");
    let mut args = vec!["encrypt", "--row", "r1"];
    args.extend(SCOPE);
    let env = ok(&hsm(&args, b"219-09-9999")).trim_end().to_string();
    args[0] = "decrypt";
    assert_eq!(ok(&hsm(&args, env.as_bytes())), "219-09-9999");
    let list = ok(&run(d, &["keys", "list"], b""));
    assert!(list.contains("pkcs11:cli-test/kek-1"), "{list}");

    // Move off the HSM onto a key file: the file alone then decrypts.
    ok(&run(d, &["keys", "init", "--key-file", "local.key"], b""));
    ok_status(&hsm(&["keys", "rewrap", "--new-key-file", "local.key"], b""));
    let mut args = vec!["decrypt", "--key-file", "local.key", "--row", "r1"];
    args.extend(SCOPE);
    assert_eq!(ok(&run(d, &args, env.as_bytes())), "219-09-9999");
}

#[cfg(feature = "pkcs11")]
fn ok_status(o: &Output) -> &Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A checkpoint kept outside the log shows records cut off its end, which
/// the chain alone cannot.
#[test]
fn audit_checkpoint_catches_a_truncated_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["keys", "init"], b""));
    let env = encrypt(d, "r1", "219-09-9999");
    assert_eq!(ok(&decrypt(d, "r1", &env)), "219-09-9999");
    let out = ok(&run(d, &["audit", "checkpoint", "-o", "head.json"], b""));
    assert!(out.contains("checkpoint of record"), "{out}");
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("head.json")).unwrap())
            .unwrap();
    assert!(cp["seq"].as_u64().unwrap() >= 1 && cp["tag"].is_string());
    // More records later: still fine.
    encrypt(d, "r2", "078-05-1120");
    let verify = ["audit", "verify", "--expect-head", "head.json"];
    ok(&run(d, &verify, b""));
    // Cut the last two records off: the chain still verifies, the
    // checkpoint does not.
    let log = d.join("phisafe-audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines[..lines.len() - 3].join("\n") + "\n";
    std::fs::write(&log, cut).unwrap();
    ok(&run(d, &["audit", "verify"], b""));
    let bad = run(d, &verify, b"");
    assert_eq!(bad.status.code(), Some(1));
    let said = String::from_utf8_lossy(&bad.stdout);
    assert!(said.contains("cut off the end"), "{said}");
    // An altered checkpoint is refused, not trusted.
    let forged = serde_json::to_string(&serde_json::json!({
        "v": 1, "seq": 0, "mac": cp["mac"], "taken": cp["taken"], "tag": cp["tag"],
    }))
    .unwrap();
    std::fs::write(d.join("head.json"), forged).unwrap();
    let refused = run(d, &verify, b"");
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not verify")
    );
}

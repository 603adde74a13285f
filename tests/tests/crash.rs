//! No plaintext without its audit record on disk, even when the process
//! dies: a child process decrypts under the default audit mode (group
//! commit) and prints each row it got plaintext for; the parent kills it
//! with SIGKILL at a point drawn at random and checks that every printed
//! row has its decrypt record in the log, and that the log verifies.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use phisafe::audit::{AuditRecord, JsonlSink, MemorySink, verify};
use phisafe::crypto::{
    Context, FieldCipher, FileKeyStore, LocalKek, Policy, Scope, audit_key,
};

const ROWS: usize = 4000;
const CHILD: &str = "PHISAFE_CRASH_CHILD_DIR";

fn kek() -> LocalKek {
    LocalKek::from_bytes([7; 32])
}

fn ctx<'a>(scope: &'a Scope, row: &'a str) -> Context<'a> {
    Context::new(scope, row).actor("crash-test").purpose("treatment")
}

/// Seals one value per row with keys in `dir/keyring.json`.
fn seal_rows(dir: &Path) -> Vec<Vec<u8>> {
    let store = Arc::new(FileKeyStore::new(dir.join("keyring.json")));
    let cipher = FieldCipher::builder(Arc::new(kek()), store)
        .policy(Policy::allow_all())
        .build(Arc::new(MemorySink::new()))
        .unwrap();
    let scope = Scope::new("patients.ssn").unwrap();
    (0..ROWS)
        .map(|i| {
            let row = format!("row-{i}");
            cipher.encrypt_phi(&ctx(&scope, &row), b"219-09-9999").unwrap()
        })
        .collect()
}

/// The child: decrypts every sealed value, printing each row as soon as
/// its plaintext is in hand. Run only by `sigkill_never_loses_a_record`.
#[test]
#[ignore = "the child process of sigkill_never_loses_a_record"]
fn crash_child() {
    let dir = PathBuf::from(
        std::env::var_os(CHILD).expect("run by sigkill_never_loses_a_record"),
    );
    let sealed = seal_rows(&dir);
    let store = Arc::new(FileKeyStore::new(dir.join("keyring.json")));
    let key = audit_key(&kek(), &*store).unwrap();
    let sink =
        JsonlSink::open(&dir.join("audit.jsonl"), key, Default::default())
            .unwrap();
    let cipher = FieldCipher::builder(Arc::new(kek()), store)
        .policy(Policy::allow_all())
        .build(Arc::new(sink))
        .unwrap();
    let scope = Scope::new("patients.ssn").unwrap();
    let mut out = std::io::stdout().lock();
    for (i, env) in sealed.iter().enumerate() {
        let row = format!("row-{i}");
        let plain = cipher.decrypt_phi(&ctx(&scope, &row), env).unwrap();
        assert_eq!(&plain[..], b"219-09-9999");
        writeln!(out, "got {row}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
#[cfg(unix)]
fn sigkill_never_loses_a_record() {
    let exe = std::env::current_exe().unwrap();
    // Kill points spread over the run, from the first rows on.
    let mut seed = std::process::id() as u64 | 1;
    for round in 0..4 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 1 + (seed % 600) as usize * (round + 1);
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash::crash_child",
                "--nocapture",
            ])
            .env(CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut got = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(row) = line.strip_prefix("got ") {
                got.push(row.to_string());
                if got.len() == kill_after {
                    child.kill().unwrap(); // SIGKILL on Unix
                    break;
                }
            }
        }
        child.wait().unwrap();
        assert_eq!(got.len(), kill_after, "the child ended early");

        let log = std::fs::read(dir.path().join("audit.jsonl")).unwrap();
        // A batch cut by the kill may end in a partial line: it holds no
        // record that was promised, and verification stops before it.
        let complete =
            &log[..log.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
        let decrypted: std::collections::HashSet<String> = complete
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice::<AuditRecord>(l).unwrap())
            .filter(|r| r.action == "decrypt" && r.outcome == "ok")
            .filter_map(|r| r.row)
            .collect();
        for row in &got {
            assert!(
                decrypted.contains(row),
                "round {round}: {row} has no record"
            );
        }
        let store = FileKeyStore::new(dir.path().join("keyring.json"));
        let key = audit_key(&kek(), &store).unwrap();
        let report = verify(&key, complete).unwrap();
        assert!(report.first_bad.is_none(), "{report:?}");
        assert!(report.valid as usize >= got.len(), "{report:?}");
    }
}

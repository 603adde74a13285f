//! Audit chain verification against tampering. A valid chain of eight
//! records is mutated as the input says (bit flips, deleted, duplicated,
//! swapped and inserted lines, a cut end); every mutation that changes
//! the log's bytes must be reported invalid by `verify_with` under a
//! checkpoint of the original head, and nothing panics. The raw input is
//! also verified as a log on its own.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use phisafe::audit::{
    AuditAction, AuditEvent, AuditKey, Chain, Checkpoint, Outcome, Rows,
    verify, verify_with,
};
use phisafe::crypto::DataKey;

fn key() -> AuditKey {
    AuditKey::new(&DataKey::from_bytes([7; 32]))
}

/// The valid chain, as lines with their `\n`, and a checkpoint of it.
fn chain() -> &'static (Vec<Vec<u8>>, Checkpoint) {
    static C: OnceLock<(Vec<Vec<u8>>, Checkpoint)> = OnceLock::new();
    C.get_or_init(|| {
        // A fixed id: the same chain in every run, so inputs replay.
        let mut chain = Chain::with_id(key(), "5eed5eed5eed5eed5eed5eed5eed5eed")
            .expect("a valid chain id");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let lines: Vec<Vec<u8>> = (0..8u32)
            .map(|i| {
                let e = AuditEvent {
                    actor: if i % 2 == 0 { "svc-a" } else { "svc-b" },
                    role: "app",
                    purpose: "treatment",
                    action: AuditAction::Decrypt,
                    scope: "patients.ssn",
                    rows: Rows::One("row-1"),
                    key_version: Some(i),
                    outcome: Outcome::Ok,
                    error: None,
                    request_id: Some("req-1"),
                };
                let mut buf = Vec::new();
                chain.seal_json(&e, t, &mut buf).unwrap();
                buf
            })
            .collect();
        let report = verify(&key(), &lines.concat()[..]).unwrap();
        let cp = Checkpoint::of(&key(), &report, t).unwrap();
        (lines, cp)
    })
}

fuzz_target!(|data: &[u8]| {
    // Any bytes as a log: a report or an I/O error, never a panic.
    let _ = verify(&key(), data);

    let (lines, cp) = chain();
    let original = lines.concat();
    let mut log = lines.clone();
    for op in data.chunks(3) {
        let &[kind, a, b] = op else { break };
        let n = log.len();
        let (i, j) = if n == 0 {
            (0, 0)
        } else {
            (usize::from(a) % n, usize::from(b) % n)
        };
        match kind % 6 {
            0 if n > 0 => {
                // Flip one bit of line i.
                let line = &mut log[i];
                let at = usize::from(b) * 7 % line.len();
                line[at] ^= 1 << (a % 8);
            }
            1 if n > 0 => {
                log.remove(i);
            }
            2 if n > 0 => {
                let dup = log[i].clone();
                log.insert(j, dup);
            }
            3 if n > 0 => log.swap(i, j),
            4 => log
                .insert(i.min(n), lines[usize::from(b) % lines.len()].clone()),
            _ => log.truncate(i),
        }
    }
    let mutated = log.concat();
    let report = verify_with(&key(), &mutated[..], Some(cp)).unwrap();
    if mutated != original {
        assert!(
            report.first_bad.is_some(),
            "a changed log verified: {:?}",
            String::from_utf8_lossy(&mutated)
        );
    } else {
        assert!(report.first_bad.is_none());
    }
});

//! Chain verification and the JSONL sink.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use super::*;

fn key(b: u8) -> AuditKey {
    AuditKey::new(&DataKey::from_bytes([b; 32]))
}

const ACTORS: [&str; 12] = [
    "actor-0", "actor-1", "actor-2", "actor-3", "actor-4", "actor-5",
    "actor-6", "actor-7", "actor-8", "actor-9", "actor-10", "actor-11",
];

fn event(i: usize) -> AuditEvent<'static> {
    AuditEvent {
        actor: ACTORS[i % ACTORS.len()],
        role: "app",
        purpose: "treatment",
        action: AuditAction::Decrypt,
        scope: "patients.ssn",
        rows: Rows::One("row-1"),
        key_version: Some(1),
        outcome: Outcome::Ok,
        error: None,
        request_id: None,
    }
}

fn chain_lines(n: usize) -> Vec<String> {
    let mut chain = Chain::new(key(1)).unwrap();
    (0..n)
        .map(|i| {
            serde_json::to_string(&chain.seal(&event(i), SystemTime::now()))
                .unwrap()
        })
        .collect()
}

fn check(lines: &[String]) -> VerifyReport {
    verify(&key(1), (lines.join("\n") + "\n").as_bytes()).unwrap()
}

#[test]
fn intact_chain_verifies() {
    let lines = chain_lines(10);
    let r = check(&lines);
    assert_eq!((r.valid, r.first_bad.clone()), (10, None));
    assert_eq!(r.head.unwrap().0, 9);
}

#[test]
fn every_kind_of_tampering_is_found_at_the_right_line() {
    let lines = chain_lines(10);

    let mut edited = lines.clone();
    edited[4] = edited[4].replace("actor-4", "actor-X");
    assert_eq!(check(&edited).first_bad.unwrap().line, 5);

    let mut deleted = lines.clone();
    deleted.remove(3);
    let bad = check(&deleted).first_bad.unwrap();
    assert_eq!(bad.line, 4);
    assert!(bad.reason.contains("sequence number"), "{}", bad.reason);

    let mut reordered = lines.clone();
    reordered.swap(6, 7);
    assert_eq!(check(&reordered).first_bad.unwrap().line, 7);

    // An inserted record forged with the wrong key, renumbering the rest.
    let mut forged_chain = Chain::new(key(2)).unwrap();
    let mut forged: Vec<String> = (0..11)
        .map(|i| {
            serde_json::to_string(
                &forged_chain.seal(&event(i), SystemTime::now()),
            )
            .unwrap()
        })
        .collect();
    forged.splice(0..5, lines[..5].iter().cloned());
    assert_eq!(check(&forged).first_bad.unwrap().line, 6);

    // A record whose prev was rewritten to splice chains together.
    let mut spliced = lines.clone();
    let mut rec: AuditRecord = serde_json::from_str(&spliced[2]).unwrap();
    rec.prev = "00".repeat(32);
    spliced[2] = serde_json::to_string(&rec).unwrap();
    assert_eq!(check(&spliced).first_bad.unwrap().line, 3);

    // A field no MAC covers, added to a valid record.
    let mut padded = lines.clone();
    padded[5] = padded[5].replacen('{', "{\"approved_by\":\"ciso\",", 1);
    assert_eq!(check(&padded).first_bad.unwrap().line, 6);

    let mut garbage = lines.clone();
    garbage[8] = "{not json".into();
    assert_eq!(check(&garbage).first_bad.unwrap().line, 9);

    // A wrong key fails at the first record.
    let r = verify(&key(9), (lines.join("\n") + "\n").as_bytes()).unwrap();
    assert_eq!(r.first_bad.unwrap().line, 1);
}

#[test]
fn a_checkpoint_catches_truncation_and_a_restarted_log() {
    let lines = chain_lines(6);
    let text = |lines: &[String]| lines.join("\n") + "\n";
    let now = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(1_800_000_000);
    // Taken after four records.
    let report = check(&lines[..4]);
    let cp = Checkpoint::of(&key(1), &report, now).unwrap();
    assert_eq!((cp.seq, cp.taken.as_str()), (3, "2027-01-15T08:00:00Z"));
    let json = serde_json::to_string(&cp).unwrap();
    let cp: Checkpoint = serde_json::from_str(&json).unwrap();
    // Growing on is fine; the chain as it was is fine.
    for n in [4, 6] {
        let r = verify_with(&key(1), text(&lines[..n]).as_bytes(), Some(&cp))
            .unwrap();
        assert_eq!((r.valid, r.first_bad), (n as u64, None));
    }
    // Records cut off the end at every record boundary, or everything:
    // seen only with the checkpoint.
    for n in (0..4).rev() {
        assert_eq!(check(&lines[..n]).first_bad, None);
        let r = verify_with(&key(1), text(&lines[..n]).as_bytes(), Some(&cp))
            .unwrap();
        let bad = r.first_bad.expect("truncation is reported");
        assert!(bad.reason.contains("cut off the end"), "{bad:?}");
    }
    // A log begun again under the same key, as long as the old one.
    let again = chain_lines(6);
    assert_ne!(again[3], lines[3]);
    let r = verify_with(&key(1), text(&again).as_bytes(), Some(&cp)).unwrap();
    let bad = r.first_bad.expect("a restart is reported");
    assert_eq!(bad.line, 1, "its chain id is another");
    assert!(bad.reason.contains("begun again"), "{bad:?}");
    // Also with a checkpoint of a chain without an id, by the record.
    let v1 = Checkpoint { chain: None, ..cp.clone() };
    let v1 = Checkpoint {
        tag: Checkpoint::of(
            &key(1),
            &VerifyReport { chain: None, ..check(&lines[..4]) },
            now,
        )
        .unwrap()
        .tag,
        ..v1
    };
    let r = verify_with(&key(1), text(&again).as_bytes(), Some(&v1)).unwrap();
    let bad = r.first_bad.expect("a restart is reported");
    assert_eq!(bad.line, 4);
    assert!(bad.reason.contains("rewritten or begun again"), "{bad:?}");
    // The chain id is under the checkpoint's tag.
    let mut other = cp.clone();
    other.chain = Some("0".repeat(32));
    assert!(
        verify_with(&key(1), text(&lines).as_bytes(), Some(&other)).is_err()
    );
    // An altered checkpoint, or one under another key, is refused.
    let mut moved = cp.clone();
    moved.seq = 1;
    for (k, c) in [(key(1), &moved), (key(2), &cp)] {
        assert!(verify_with(&k, text(&lines).as_bytes(), Some(c)).is_err());
    }
    // Nothing to vouch for: no checkpoint of an empty or broken chain.
    assert_eq!(Checkpoint::of(&key(1), &check(&[]), now), None);
    let mut broken = lines.clone();
    broken.swap(1, 2);
    assert_eq!(Checkpoint::of(&key(1), &check(&broken), now), None);
}

#[test]
fn every_record_carries_the_chain_id_under_its_mac() {
    let lines = chain_lines(5);
    let r = check(&lines);
    let id = r.chain.clone().expect("a new chain has an id");
    assert_eq!(id.len(), 32);
    for line in &lines {
        let rec: AuditRecord = serde_json::from_str(line).unwrap();
        assert_eq!(rec.chain.as_deref(), Some(id.as_str()));
    }
    // Two chains of one key get different ids.
    assert_ne!(check(&chain_lines(1)).chain, Some(id.clone()));
    // Relabelled as another chain, or with the id taken away (read as a
    // chain of version 1 records), the records no longer verify.
    let other = "f".repeat(32);
    let relabelled: Vec<String> =
        lines.iter().map(|l| l.replace(&id, &other)).collect();
    assert_eq!(check(&relabelled).first_bad.unwrap().line, 1);
    let stripped: Vec<String> = lines
        .iter()
        .map(|l| l.replace(&format!(",\"chain\":\"{id}\""), ""))
        .collect();
    assert_ne!(stripped, lines);
    assert_eq!(check(&stripped).first_bad.unwrap().line, 1);
    // A record of another chain, even at the right place, is refused.
    let mut a = Chain::with_id(key(1), &"a".repeat(32)).unwrap();
    let mut b = Chain::with_id(key(1), &"b".repeat(32)).unwrap();
    let t = SystemTime::now();
    let mut mixed =
        vec![serde_json::to_string(&a.seal(&event(0), t)).unwrap()];
    let mut from_b = b.seal(&event(1), t);
    // Made to link: seq and prev as the next record of `a` has them.
    from_b.seq = 1;
    from_b.prev = a.head().1;
    mixed.push(serde_json::to_string(&from_b).unwrap());
    let bad = check(&mixed).first_bad.unwrap();
    assert_eq!(bad.line, 2);
    assert!(bad.reason.contains("two chains"), "{bad:?}");
}

#[test]
fn chains_without_an_id_still_verify() {
    // A chain begun before ids existed, continued from its head.
    let zeros = "0".repeat(64);
    let mut chain = Chain::from_head(key(1), None, 0, &zeros, None).unwrap();
    assert_eq!((chain.id(), chain.head_tag()), (None, None));
    let lines: Vec<String> = (0..3)
        .map(|i| {
            serde_json::to_string(&chain.seal(&event(i), SystemTime::now()))
                .unwrap()
        })
        .collect();
    assert!(!lines[0].contains("chain"));
    let r = check(&lines);
    assert_eq!((r.valid, r.chain, r.first_bad), (3, None, None));
    // Resumed, it stays a chain without an id.
    let last: AuditRecord = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(Chain::resume(key(1), &last).unwrap().id(), None);
}

#[test]
fn a_head_row_moved_or_relabelled_does_not_verify() {
    let id = "0123456789abcdef0123456789abcdef";
    let mut chain = Chain::with_id(key(1), id).unwrap();
    let first = chain.head();
    let first_tag = chain.head_tag().unwrap();
    for i in 0..3 {
        chain.seal(&event(i), SystemTime::now());
    }
    let (next, prev) = chain.head();
    let tag = chain.head_tag().unwrap();
    let from = |id: Option<&str>, next, prev: &str, tag: Option<&str>| {
        Chain::from_head(key(1), id, next, prev, tag)
    };
    let resumed = from(Some(id), next, &prev, Some(&tag)).unwrap();
    assert_eq!(
        (resumed.head(), resumed.head_tag()),
        ((next, prev.clone()), Some(tag.clone()))
    );
    // An earlier head is valid as it was ...
    assert!(from(Some(id), first.0, &first.1, Some(&first_tag)).is_ok());
    // ... but the current tag does not move with it, nor to another id,
    // nor under another key, nor away.
    let other = "f".repeat(32);
    for bad in [
        from(Some(id), next - 1, &prev, Some(&tag)),
        from(Some(id), next, &first.1, Some(&tag)),
        from(Some(&other), next, &prev, Some(&tag)),
        from(Some(id), next, &prev, None),
        from(None, next, &prev, Some(&tag)),
        Chain::from_head(key(2), Some(id), next, &prev, Some(&tag)),
    ] {
        let e = bad.unwrap_err().to_string();
        assert!(e.contains("head row does not verify"), "{e}");
    }
    assert!(
        Chain::with_id(key(1), "ABCDEF0123456789ABCDEF0123456789").is_err()
    );
}

#[test]
fn jsonl_sink_appends_resumes_and_cuts_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    {
        let sink =
            JsonlSink::open(&path, key(1), Durability::EveryRecord).unwrap();
        for i in 0..3 {
            sink.append(&event(i)).unwrap();
        }
        // One writer per file.
        assert!(matches!(
            JsonlSink::open(&path, key(1), Durability::EveryRecord),
            Err(AuditError::InUse(_))
        ));
    }
    // A crash mid-write leaves half a line.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":3,\"ts\":\"2026-");
    std::fs::write(&path, &text).unwrap();
    {
        let sink =
            JsonlSink::open(&path, key(1), Durability::default()).unwrap();
        for i in 3..6 {
            sink.append(&event(i)).unwrap();
        }
    } // dropped: flushed
    let r = verify(&key(1), std::fs::read(&path).unwrap().as_slice()).unwrap();
    assert_eq!((r.valid, r.first_bad), (6, None));
    // Resuming with another key is refused rather than forking the chain.
    assert!(matches!(
        JsonlSink::open(&path, key(2), Durability::EveryRecord),
        Err(AuditError::WrongKey)
    ));
}

#[test]
fn deferred_commit_flushes_on_its_own_within_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlSink::open(
        &path,
        key(1),
        Durability::Deferred {
            max_records: 1000,
            max_delay: Duration::from_millis(20),
        },
    )
    .unwrap();
    sink.append(&event(0)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).unwrap().len() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the flusher never wrote"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = verify(&key(1), std::fs::read(&path).unwrap().as_slice()).unwrap();
    assert_eq!(r.valid, 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_poisons_the_sink() {
    // Every write to /dev/full fails with ENOSPC.
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let sink = JsonlSink::open(full, key(1), Durability::EveryRecord).unwrap();
    assert!(matches!(sink.append(&event(0)), Err(AuditError::Io(_))));
    assert!(matches!(sink.append(&event(1)), Err(AuditError::Poisoned)));
    drop(sink);
    // Group commit: the append whose batch failed fails itself.
    let sink = JsonlSink::open(full, key(1), Durability::default()).unwrap();
    assert!(matches!(sink.append(&event(0)), Err(AuditError::Poisoned)));
    assert!(matches!(sink.append(&event(1)), Err(AuditError::Poisoned)));
    drop(sink);
    // Deferred: the failure surfaces at the next flush and append.
    let sink = JsonlSink::open(
        full,
        key(1),
        Durability::Deferred {
            max_records: 1024,
            max_delay: Duration::from_millis(50),
        },
    )
    .unwrap();
    sink.append(&event(0)).unwrap();
    assert!(matches!(sink.flush(), Err(AuditError::Poisoned)));
    assert!(matches!(sink.append(&event(1)), Err(AuditError::Poisoned)));
}

#[cfg(unix)]
#[test]
fn a_new_log_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink =
        JsonlSink::open(&path, key(1), Durability::EveryRecord).unwrap();
    sink.append(&event(0)).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn group_commit_returns_only_once_the_record_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlSink::open(&path, key(1), Durability::default()).unwrap();
    let on_disk = || {
        let bytes = std::fs::read(&path).unwrap();
        verify(&key(1), bytes.as_slice()).unwrap().valid
    };
    for i in 0..20 {
        sink.append(&event(i)).unwrap();
        // No flush: the record is in the file when append returns.
        assert_eq!(on_disk(), i as u64 + 1);
    }
    // From threads too: each append's own record is there when it returns.
    std::thread::scope(|t| {
        for _ in 0..4 {
            t.spawn(|| {
                for i in 0..50 {
                    sink.append(&event(i)).unwrap();
                    assert!(on_disk() >= 21);
                }
            });
        }
    });
    assert_eq!(on_disk(), 220);
}

#[test]
fn sealed_json_and_records_agree() {
    let id = "0123456789abcdef0123456789abcdef";
    let mut a = Chain::with_id(key(1), id).unwrap();
    let mut b = Chain::with_id(key(1), id).unwrap();
    let mut buf = Vec::new();
    let e = AuditEvent {
        rows: Rows::batch(["x", "y"]),
        request_id: Some("q\"1"),
        ..event(3)
    };
    let t = SystemTime::now();
    a.seal_json(&e, t, &mut buf).unwrap();
    let parsed: AuditRecord =
        serde_json::from_slice(buf.strip_suffix(b"\n").unwrap()).unwrap();
    let record = b.seal(&e, t);
    assert_eq!(parsed, record);
    // Byte for byte what serde writes for the record.
    let line = serde_json::to_string(&record).unwrap() + "\n";
    assert_eq!(String::from_utf8(buf.clone()).unwrap(), line);
    assert_eq!(verify(&key(1), &buf[..]).unwrap().valid, 1);
}

#[test]
fn many_appends_from_threads_keep_one_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink =
        JsonlSink::open(&path, key(1), Durability::Group { max_records: 16 })
            .unwrap();
    std::thread::scope(|t| {
        for _ in 0..4 {
            t.spawn(|| {
                for i in 0..500 {
                    sink.append(&event(i)).unwrap();
                }
            });
        }
    });
    sink.flush().unwrap();
    let r = verify(&key(1), std::fs::read(&path).unwrap().as_slice()).unwrap();
    assert_eq!((r.valid, r.first_bad), (2000, None));
}

#[test]
fn times_follow_the_chain_order_across_threads() {
    // The sink stamps each record as it chains it, so a caller that
    // started first but appended second cannot put an earlier time after
    // a later one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlSink::open(&path, key(1), Durability::default()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let sink = &sink;
            s.spawn(move || {
                for i in 0..2000 {
                    sink.append(&event(t * 2000 + i)).unwrap();
                }
            });
        }
    });
    sink.flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let times: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<AuditRecord>(l).unwrap().ts)
        .collect();
    assert_eq!(times.len(), 8000);
    // RFC 3339 UTC with a fixed number of digits sorts as text.
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_mac_in_another_spelling_does_not_verify() {
    // Found by the `audit_verify` fuzz target: upper-case hex decoded to
    // the same MAC, so a log whose bytes changed still verified.
    let mut lines = chain_lines(3);
    let upper = lines[1].replace("\"mac\":\"", "\"mac\":\"X");
    let (head, tail) = upper.split_once("\"mac\":\"X").unwrap();
    lines[1] = format!("{head}\"mac\":\"{}", tail.to_ascii_uppercase());
    let log = lines.join("\n");
    let report = verify(&key(1), log.as_bytes()).unwrap();
    assert_eq!(report.valid, 1);
    let bad = report.first_bad.unwrap();
    assert!(bad.reason.contains("lowercase hex"), "{}", bad.reason);
}

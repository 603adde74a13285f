//! Synthetic workloads for the benchmarks in `benches/`.
//!
//! Deterministic (a fixed-seed generator) so runs compare, and synthetic:
//! every value is invented.

/// A small deterministic generator (SplitMix64).
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const QUIET: &[&str] = &[
    "INFO  GET /api/v2/health 200 2ms",
    "INFO  request completed status=200 duration_ms=31 route=/api/v2/orders",
    "DEBUG cache hit key=session:7f3a ttl=300",
    "WARN  slow query took 1520ms rows=42 table=encounters",
    "INFO  worker 3 picked job 88123 from queue default",
    "DEBUG commit 9f3c2a1e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a deployed version 4.2.1",
    "INFO  request_id=6f1c0e2a-7b7d-4a57-9a36-2f4b8c0d9e11 took 31ms",
    "INFO  order 4471029384 shipped via ground, invoice INV-228812",
    "DEBUG feature flag new_scheduler=true for tenant acme",
    "INFO  batch 1250 processed 5000 records in 812ms",
];

const PHI: &[&str] = &[
    "ERROR lookup failed for patient_id=4471983 email=jo.smith@example.net",
    "WARN  payment declined card=4111 1111 1111 1111",
    "DEBUG db url=postgres://ehr_app:Sup3rS3cret@db.internal:5432/ehr",
    "INFO  login from client=203.0.113.77 user=mgarcia@example.org",
    "INFO  callback phone=(415) 555-2671 for appointment",
    "WARN  record mismatch ssn=219-09-9999 mrn=MR-7731942",
];

/// An application log of about `bytes` bytes with one PHI item per ~2 KB.
pub fn sparse_log(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut out = Vec::with_capacity(bytes + 256);
    let mut since_phi = 0;
    let mut second = 0u64;
    while out.len() < bytes {
        let line = if since_phi >= 2048 {
            since_phi = 0;
            rng.pick(PHI)
        } else {
            rng.pick(QUIET)
        };
        second += 1;
        let ts = format!(
            "2024-03-14T{:02}:{:02}:{:02}Z ",
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60
        );
        out.extend_from_slice(ts.as_bytes());
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        since_phi += ts.len() + line.len() + 1;
    }
    out
}

const NOTE: &[&str] = &[
    "Patient: Maria Lopez, MRN 00482913, DOB 04/12/1957.",
    "Seen on 03/14/2024 by Dr. Okonkwo (NPI 1234567893).",
    "Lives at 77 Harbor View Rd, Springfield, IL 62704; phone (415) 555-2671.",
    "Medicare MBI 1EG4-TE5-MK73; SSN 219-09-9999.",
    "HPI: 67 y/o female with chest pain. BP 120/80, HR 72, SpO2 97%.",
    "Troponin 0.02 ng/mL; ICD-10 I20.9; CPT 93000; metoprolol 25 mg PO BID.",
    "Emergency contact: Tomás Ruiz, cell 650-555-3344, email t.ruiz@example.org.",
    "Her mother, a 94-year-old, lives with her. Pacemaker serial no: PM4471-2209.",
    "Discharged March 18, 2024 in stable condition; follow up in 2 weeks.",
    "Assessment: stable angina. Plan: stress test, continue aspirin 81 mg.",
];

/// Clinical notes of about `bytes` bytes, dense with PHI.
pub fn clinical_notes(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::new(11);
    let mut out = Vec::with_capacity(bytes + 256);
    while out.len() < bytes {
        out.extend_from_slice(rng.pick(NOTE).as_bytes());
        out.push(if rng.below(4) == 0 { b'\n' } else { b' ' });
    }
    out
}

const FIRST: &[&str] =
    &["Maria", "John", "Wei", "Aisha", "Tomás", "Olga", "Ravi", "Grace"];
const LAST: &[&str] =
    &["Lopez", "Smith", "Chen", "Okafor", "Novak", "Patel", "Kim", "Reyes"];
const NOTES: &[&str] = &[
    "follow-up in 2 weeks, BP 120/80, continue metformin 500 mg BID",
    "labs ordered: CBC, CMP, A1c; ICD-10 E11.9",
    "patient reports improved sleep; no new complaints",
    "called back at (415) 555-2671 re: results",
    "discharged 03/14/2024 in stable condition",
    "referred to cardiology, CPT 93000 performed",
];

/// One synthetic patient row as (first, last, ssn, dob, phone, email,
/// note, amount) strings.
fn patient(rng: &mut Rng) -> [String; 8] {
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    [
        first.to_string(),
        last.to_string(),
        format!(
            "{:03}-{:02}-{:04}",
            100 + rng.below(600),
            10 + rng.below(89),
            1000 + rng.below(8999)
        ),
        format!(
            "{}-{:02}-{:02}",
            1930 + rng.below(80),
            1 + rng.below(12),
            1 + rng.below(28)
        ),
        format!(
            "({}) 555-{:04}",
            201 + rng.below(700),
            2000 + rng.below(7999)
        ),
        format!(
            "{}.{}@example.org",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        rng.pick(NOTES).to_string(),
        format!("{}.{:02}", rng.below(5000), rng.below(100)),
    ]
}

/// JSON lines of about `bytes` bytes, one patient record per line.
pub fn patients_jsonl(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::new(21);
    let mut out = Vec::with_capacity(bytes + 512);
    let mut id = 0;
    while out.len() < bytes {
        id += 1;
        let [f, l, ssn, dob, phone, email, note, amount] = patient(&mut rng);
        out.extend_from_slice(
            format!(
                "{{\"id\": {id}, \"patient\": {{\"first_name\": \"{f}\", \"last_name\": \"{l}\", \"ssn\": \"{ssn}\", \"dob\": \"{dob}\", \"contact\": [{{\"phone\": \"{phone}\"}}, {{\"email\": \"{email}\"}}]}}, \"note\": \"{note}\", \"amount\": {amount}}}\n"
            )
            .as_bytes(),
        );
    }
    out
}

/// CSV of about `bytes` bytes with a header row.
pub fn patients_csv(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::new(22);
    let mut out =
        b"id,first_name,last_name,ssn,dob,phone,email,note,amount\n".to_vec();
    let mut id = 0;
    while out.len() < bytes {
        id += 1;
        let [f, l, ssn, dob, phone, email, note, amount] = patient(&mut rng);
        out.extend_from_slice(
            format!("{id},{f},{l},{ssn},{dob},\"{phone}\",{email},\"{note}\",{amount}\n").as_bytes(),
        );
    }
    out
}

/// A pg_dump plain-format dump of about `bytes` bytes: one table in a COPY
/// block.
pub fn patients_pg_dump(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::new(23);
    let mut out = b"CREATE TABLE public.patients (\n    id integer,\n    first_name text,\n    last_name text,\n    ssn text,\n    dob date,\n    phone text,\n    email text,\n    note text,\n    amount numeric\n);\n\nCOPY public.patients (id, first_name, last_name, ssn, dob, phone, email, note, amount) FROM stdin;\n".to_vec();
    let mut id = 0;
    while out.len() < bytes {
        id += 1;
        let [f, l, ssn, dob, phone, email, note, amount] = patient(&mut rng);
        out.extend_from_slice(
            format!("{id}\t{f}\t{l}\t{ssn}\t{dob}\t{phone}\t{email}\t{note}\t{amount}\n").as_bytes(),
        );
    }
    out.extend_from_slice(b"\\.\n");
    out
}

/// About `bytes` bytes of dense mixed text from `scripts/gen_corpus.py
/// --dense`: clinical notes, logs in thirty formats, HL7, DICOM, JSON, CSV
/// and SQL exports, with PHI at realistic density and hard negatives.
///
/// Generated once (it takes a few minutes) into `target/bench-data/` and
/// read from there afterwards; needs `python3`.
pub fn dense_mixed(bytes: usize) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf();
    let dir = root.join("target/bench-data");
    let path = dir.join(format!("dense-mixed-{bytes}.txt"));
    if let Ok(data) = std::fs::read(&path) {
        return data;
    }
    std::fs::create_dir_all(&dir).expect("target/bench-data");
    let tmp = path.with_extension("tmp");
    let out = std::fs::File::create(&tmp).expect("bench data file");
    let status = std::process::Command::new("python3")
        .arg(root.join("scripts/gen_corpus.py"))
        .args(["--dense", &bytes.to_string()])
        .stdout(out)
        .status()
        .expect("python3 runs scripts/gen_corpus.py");
    assert!(status.success(), "scripts/gen_corpus.py failed");
    std::fs::rename(&tmp, &path).expect("rename bench data");
    std::fs::read(&path).expect("bench data")
}

/// `text` cut into documents of about `size` bytes at line ends, the way
/// the Python bindings and the logging filter see it: one call per
/// document.
pub fn documents(text: &[u8], size: usize) -> Vec<&[u8]> {
    let mut docs = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let want = (at + size).min(text.len());
        let end =
            memchr_newline(&text[want..]).map_or(text.len(), |i| want + i + 1);
        docs.push(&text[at..end]);
        at = end;
    }
    docs
}

fn memchr_newline(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\n')
}

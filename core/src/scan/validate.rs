//! Validators: checks that a candidate is what its pattern claims.
//!
//! A validator is a hard gate: when it says no, the candidate is dropped
//! whatever the context. Checksums pass by chance on random numbers
//! ([`Validator::chance_pass_rate`]), so passing one is evidence, not proof;
//! pattern scores account for that, and the pack tests hold them to it.

use std::ops::Range;

use super::names::Names;

/// A named check run on a candidate match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validator {
    /// Luhn plus a known issuer prefix and length (payment cards).
    CreditCard,
    /// Luhn over 15 digits (IMEI).
    Imei,
    Npi,
    Dea,
    Vin,
    Iban,
    Aba,
    Ssn,
    Mbi,
    Ipv4,
    Ipv6,
    Date,
    /// A date that ends at a word boundary or opens a date-time (`T`).
    DatePrefix,
    AgeOver89,
    Phone,
    Email,
    Mac,
    Jwt,
    /// The value of a `password=`-style assignment is not a placeholder.
    SecretValue,
    /// A random-looking token: mixed character classes, not a word.
    Token,
    /// Not all one digit and not a run like 123456789.
    NotTrivial,
    /// Contains at least one digit and is not a trivial digit run.
    HasDigit,
    Zip,
    /// First and last name both in the census dictionaries.
    PersonName,
    /// A name after a title or label: capitalized, not a common word.
    PersonCued,
    /// The value of a name field: letters, the first word not a common
    /// word (`Stable`, `Pending`), in any case.
    PersonValue,
    /// Every word a census first or last name, the first not a common
    /// word: for cues too weak to vouch for any capitalized word.
    PersonKnown,
    /// Contains at least one digit.
    AnyDigit,
    StreetAddress,
    /// A URL that is not a published code system's (`http://loinc.org`,
    /// `http://terminology.hl7.org/CodeSystem/v2-0203`): those name
    /// vocabularies, never a person.
    Url,
}

impl Validator {
    /// Whether a match that passes this validator is evidence on its own:
    /// a check digit, a format too strict to happen by chance, or a
    /// random-looking token.
    pub(crate) fn is_checksum(self) -> bool {
        matches!(
            self,
            Validator::CreditCard
                | Validator::Imei
                | Validator::Npi
                | Validator::Dea
                | Validator::Vin
                | Validator::Iban
                | Validator::Aba
                | Validator::Mbi
                | Validator::Jwt
                | Validator::Token
        )
    }

    /// Every validator name accepted in pattern files.
    pub(crate) const NAMES: &'static [(&'static str, Validator)] = &[
        ("credit_card", Validator::CreditCard),
        ("imei", Validator::Imei),
        ("npi", Validator::Npi),
        ("dea", Validator::Dea),
        ("vin", Validator::Vin),
        ("iban", Validator::Iban),
        ("aba", Validator::Aba),
        ("ssn", Validator::Ssn),
        ("mbi", Validator::Mbi),
        ("ipv4", Validator::Ipv4),
        ("ipv6", Validator::Ipv6),
        ("date", Validator::Date),
        ("date_prefix", Validator::DatePrefix),
        ("age_over_89", Validator::AgeOver89),
        ("phone", Validator::Phone),
        ("email", Validator::Email),
        ("mac", Validator::Mac),
        ("jwt", Validator::Jwt),
        ("secret_value", Validator::SecretValue),
        ("token", Validator::Token),
        ("not_trivial", Validator::NotTrivial),
        ("has_digit", Validator::HasDigit),
        ("zip", Validator::Zip),
        ("person_name", Validator::PersonName),
        ("person_cued", Validator::PersonCued),
        ("person_value", Validator::PersonValue),
        ("person_known", Validator::PersonKnown),
        ("any_digit", Validator::AnyDigit),
        ("street_address", Validator::StreetAddress),
        ("url", Validator::Url),
    ];

    pub(crate) fn name(self) -> &'static str {
        Validator::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |&(n, _)| n)
    }

    pub(crate) fn from_name(name: &str) -> Option<Validator> {
        Validator::NAMES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// How often a random string of the right shape passes, for checks
    /// that are checksums. `None` for structural checks.
    pub(crate) fn chance_pass_rate(self) -> Option<f64> {
        match self {
            Validator::CreditCard | Validator::Imei | Validator::Dea => {
                Some(0.1)
            }
            Validator::Npi => Some(0.02),
            Validator::Aba => Some(0.038),
            Validator::Vin => Some(1.0 / 11.0),
            Validator::Iban => Some(1.0 / 97.0),
            _ => None,
        }
    }

    /// Runs the check on `hay[span]`. Neighbouring bytes may be consulted
    /// (a few at most), never the rest of the haystack.
    pub(crate) fn check(
        self,
        hay: &[u8],
        span: Range<usize>,
        names: &Names,
    ) -> bool {
        let m = &hay[span.clone()];
        match self {
            Validator::CreditCard => credit_card(m),
            Validator::Imei => {
                let d = digits(m);
                d.len() == 15 && luhn(&d)
            }
            Validator::Npi => npi(m),
            Validator::Dea => dea(m),
            Validator::Vin => vin(m),
            Validator::Iban => iban(m),
            Validator::Aba => aba(m),
            Validator::Ssn => ssn(m),
            Validator::Mbi => mbi(m),
            Validator::Ipv4 => ipv4(hay, span),
            Validator::Ipv6 => ipv6(m),
            Validator::Date => date(m),
            Validator::DatePrefix => {
                let next = hay.get(span.end).copied();
                (next == Some(b'T')
                    || !next.is_some_and(|b| b.is_ascii_alphanumeric()))
                    && date(m)
            }
            Validator::AgeOver89 => age_over_89(m),
            Validator::Phone => phone(m),
            Validator::Email => !in_url_authority(hay, span.start) && email(m),
            Validator::Mac => mac(m),
            Validator::Jwt => jwt(m),
            Validator::SecretValue => secret_value(m),
            Validator::Token => token(m),
            Validator::NotTrivial => not_trivial(&digits(m)),
            Validator::HasDigit => {
                let d = digits(m);
                // A long code may carry a single digit (Washington's
                // WDL licences: WDLTUOBPB1TA).
                let long_code = m.len() >= 8
                    && m.iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
                // Washington's WDL licences can be letters throughout.
                let wdl = m.len() == 12
                    && m.starts_with(b"WDL")
                    && m.iter().all(u8::is_ascii_alphanumeric);
                (d.len() >= 2 || (d.len() == 1 && long_code) || wdl)
                    && (d.len() < m.len() || not_trivial(&d))
            }
            Validator::Zip => zip(m),
            Validator::PersonName => names.is_full_name(m),
            Validator::PersonCued => names.is_cued_name(m),
            Validator::PersonValue => names.is_name_value(m),
            Validator::PersonKnown => names.is_known_name(m),
            Validator::AnyDigit => m.iter().any(u8::is_ascii_digit),
            Validator::StreetAddress => street_address(m),
            Validator::Url => !code_system_url(m),
        }
    }
}

/// The ASCII digits of `m` as values 0-9, separators dropped.
fn digits(m: &[u8]) -> Vec<u8> {
    m.iter().filter(|b| b.is_ascii_digit()).map(|b| b - b'0').collect()
}

/// ISO/IEC 7812-1 Luhn over digit values, check digit last.
pub(crate) fn luhn(d: &[u8]) -> bool {
    luhn_sum(d, 0).is_multiple_of(10)
}

/// The Luhn sum of `d` (check digit last), plus `extra`.
fn luhn_sum(d: &[u8], extra: u32) -> u32 {
    let mut sum = extra;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum
}

fn credit_card(m: &[u8]) -> bool {
    let d = digits(m);
    if !(13..=19).contains(&d.len()) || !luhn(&d) || all_same(&d) {
        return false;
    }
    let prefix = |n: usize| -> u32 {
        d[..n].iter().fold(0, |acc, &x| acc * 10 + u32::from(x))
    };
    let len = d.len();
    match d[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && len == 16,
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        3 => {
            let p2 = prefix(2);
            ((p2 == 34 || p2 == 37) && len == 15)
                || ((300..=305).contains(&prefix(3)) || p2 == 36 || p2 == 38)
                    && (14..=19).contains(&len)
                || (3528..=3589).contains(&prefix(4))
                    && (16..=19).contains(&len)
        }
        6 => {
            (prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 62)
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

/// CMS NPI check: 10 digits, first 1 or 2, Luhn as if prefixed by 80840.
fn npi(m: &[u8]) -> bool {
    let d = digits(m);
    // The 80840 prefix contributes a constant 24 to the Luhn sum.
    d.len() == 10
        && matches!(d[0], 1 | 2)
        && luhn_sum(&d, 24).is_multiple_of(10)
}

/// DEA: registrant letter, name letter (or 9), seven digits, checksum.
fn dea(m: &[u8]) -> bool {
    if m.len() != 9 {
        return false;
    }
    let first = m[0].to_ascii_uppercase();
    let second = m[1].to_ascii_uppercase();
    if !b"ABCDEFGHJKLMPRSTUX".contains(&first)
        || !(second.is_ascii_uppercase() || second == b'9')
        || !m[2..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let d: Vec<u32> = m[2..].iter().map(|b| u32::from(b - b'0')).collect();
    let sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
    sum % 10 == d[6]
}

/// 49 CFR 565.15(c) check digit.
fn vin(m: &[u8]) -> bool {
    const WEIGHTS: [u32; 17] =
        [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    if m.len() != 17 {
        return false;
    }
    let mut sum = 0;
    let mut letters = 0;
    for (i, &b) in m.iter().enumerate() {
        let b = b.to_ascii_uppercase();
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'H' => u32::from(b - b'A') + 1,
            b'J'..=b'N' => u32::from(b - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(b - b'S') + 2,
            _ => return false,
        };
        if b.is_ascii_alphabetic() {
            letters += 1;
        }
        sum += v * WEIGHTS[i];
    }
    let check = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    // A VIN always carries letters (manufacturer code); 17 digits is some
    // other number.
    letters > 0 && m[8].to_ascii_uppercase() == check
}

/// ISO 13616 lengths per country (the SWIFT registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// ISO 7064 MOD 97-10 plus the per-country length.
fn iban(m: &[u8]) -> bool {
    let s: Vec<u8> = m
        .iter()
        .filter(|b| !b.is_ascii_whitespace() && **b != b'-')
        .map(u8::to_ascii_uppercase)
        .collect();
    if s.len() < 15 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| c[..] == s[..2])
    else {
        return false;
    };
    if s.len() != len || !s[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(b - b'A' + 10)) % 97;
        }
    }
    rem == 1
}

/// ABA routing number: prefix ranges and the 3-7-1 checksum.
fn aba(m: &[u8]) -> bool {
    let d = digits(m);
    if d.len() != 9 || all_same(&d) {
        return false;
    }
    let p = d[0] * 10 + d[1];
    if !(p <= 12
        || (21..=32).contains(&p)
        || (61..=72).contains(&p)
        || p == 80)
    {
        return false;
    }
    let d: Vec<u32> = d.iter().map(|&x| u32::from(x)).collect();
    let sum = 3 * (d[0] + d[3] + d[6])
        + 7 * (d[1] + d[4] + d[7])
        + (d[2] + d[5] + d[8]);
    sum.is_multiple_of(10)
}

/// SSA rules: no area 000, 666 or 9xx, group 00, serial 0000; no published
/// sample numbers; one delimiter style.
fn ssn(m: &[u8]) -> bool {
    let seps: Vec<u8> =
        m.iter().copied().filter(|b| !b.is_ascii_digit()).collect();
    if seps.len() == 2 && seps[0] != seps[1] {
        return false;
    }
    let d = digits(m);
    if d.len() != 9 || all_same(&d) {
        return false;
    }
    let n = |r: Range<usize>| {
        d[r].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x))
    };
    let (area, group, serial) = (n(0..3), n(3..5), n(5..9));
    const SAMPLES: [u32; 3] = [78_051_120, 123_456_789, 987_654_320];
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !SAMPLES.contains(&n(0..9))
}

/// CMS MBI: C A AN N A AN N A A N N, letters excluding S L O I B Z.
fn mbi(m: &[u8]) -> bool {
    let s: Vec<u8> =
        m.iter().filter(|&&b| b != b'-').map(u8::to_ascii_uppercase).collect();
    if s.len() != 11 {
        return false;
    }
    let alpha = |b: u8| b.is_ascii_uppercase() && !b"SLOIBZ".contains(&b);
    let num = |b: u8| b.is_ascii_digit();
    let ok = |i: usize, b: u8| match i {
        0 => (b'1'..=b'9').contains(&b),
        1 | 4 | 7 | 8 => alpha(b),
        2 | 5 => alpha(b) || num(b),
        _ => num(b),
    };
    s.iter().enumerate().all(|(i, &b)| ok(i, b))
}

/// How far back a validator may look before its match, in bytes.
pub(crate) const REACH_BEHIND: usize = 128;

/// Whether `at` is inside the authority of a URL (`scheme://user:pw@host`),
/// where `x@host` is a credential and a host, not an e-mail address.
fn in_url_authority(hay: &[u8], at: usize) -> bool {
    let from = at.saturating_sub(REACH_BEHIND);
    let token_start = hay[from..at]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || b"\"'<>".contains(b))
        .map_or(from, |i| from + i + 1);
    let token = &hay[token_start..at];
    match memchr::memmem::rfind(token, b"://") {
        Some(i) => !token[i + 3..].contains(&b'/'),
        None => false,
    }
}

/// Dotted quad with octets 0-255, not part of a longer dotted run or a
/// version string (`v1.2.3.4`).
fn ipv4(hay: &[u8], span: Range<usize>) -> bool {
    let m = &hay[span.clone()];
    let before = span.start.checked_sub(1).map(|i| hay[i]);
    let before2 = span.start.checked_sub(2).map(|i| hay[i]);
    let after = hay.get(span.end).copied();
    let after2 = hay.get(span.end + 1).copied();
    if matches!(before, Some(b'v' | b'V'))
        || (before == Some(b'.')
            && before2.is_some_and(|b| b.is_ascii_digit()))
        || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let parts: Vec<&[u8]> = m.split(|&b| b == b'.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.iter().all(u8::is_ascii_digit)
                && (p.len() == 1 || p[0] != b'0')
                && parse_u32(p).is_some_and(|v| v <= 255)
        })
}

fn ipv6(m: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(m) else { return false };
    // Require at least two colons and a hex digit so "::" or "a:b" and
    // clock times do not pass.
    s.parse::<std::net::Ipv6Addr>().is_ok()
        && s.bytes().filter(|&b| b == b':').count() >= 2
        && s.bytes().any(|b| b.is_ascii_hexdigit())
        && s.len() >= 6
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
    "nov", "dec",
];

fn days_in_month(year: Option<u32>, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        _ => 0,
    }
}

fn parse_u32(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    Some(d.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

/// A date that exists on the calendar, in any of the forms the DATE
/// patterns match: numeric (US month first, or year first; day first when
/// month first cannot be) or with a month name.
fn date(m: &[u8]) -> bool {
    // Tokens are digit runs ("14th" gives "14") and at most one month name.
    let mut numbers: Vec<&[u8]> = Vec::new();
    let mut month_word = None;
    for tok in m.split(|b| !b.is_ascii_alphanumeric()) {
        let ndigits = tok.iter().take_while(|b| b.is_ascii_digit()).count();
        if ndigits > 0 {
            numbers.push(&tok[..ndigits]);
        } else if tok.len() >= 3 {
            let lower = tok[..3].to_ascii_lowercase();
            let i = MONTHS.iter().position(|mo| mo.as_bytes() == lower);
            month_word = i.map(|i| i as u32 + 1).or(month_word);
        }
    }
    let year_ok = |y: &[u8]| -> Option<u32> {
        let v = parse_u32(y)?;
        match y.len() {
            4 if (1900..=2100).contains(&v) => Some(v),
            2 => Some(v),
            _ => None,
        }
    };
    let valid = |y: Option<u32>, mo: u32, d: u32| {
        (1..=12).contains(&mo) && d >= 1 && d <= days_in_month(y, mo)
    };
    match (month_word, numbers.as_slice()) {
        (Some(mo), [d]) => parse_u32(d).is_some_and(|d| valid(None, mo, d)),
        (Some(mo), [a, b]) => {
            // "March 14, 2024" or "14 March 2024"; "March 2024" has no day.
            let (day, year) = if a.len() == 4 { (b, a) } else { (a, b) };
            let Some(y) = year_ok(year) else { return false };
            parse_u32(day).is_some_and(|d| d <= 31 && valid(Some(y), mo, d))
        }
        (None, [a, b, c]) => {
            let (a_v, b_v) = match (parse_u32(a), parse_u32(b)) {
                (Some(x), Some(y)) => (x, y),
                _ => return false,
            };
            if a.len() == 4 {
                let Some(y) = year_ok(a) else { return false };
                return parse_u32(c).is_some_and(|d| valid(Some(y), b_v, d));
            }
            let Some(y) = year_ok(c) else { return false };
            valid(Some(y), a_v, b_v) || valid(Some(y), b_v, a_v)
        }
        // 20240314: a year 1900-2100, a month and a day.
        (None, [x]) if x.len() == 8 => {
            let (y, mo, d) = (&x[..4], &x[4..6], &x[6..]);
            match (year_ok(y), parse_u32(mo), parse_u32(d)) {
                (Some(y), Some(mo), Some(d)) => valid(Some(y), mo, d),
                _ => false,
            }
        }
        _ => false,
    }
}

fn age_over_89(m: &[u8]) -> bool {
    let start = m.iter().position(u8::is_ascii_digit);
    let Some(start) = start else { return false };
    let len = m[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    parse_u32(&m[start..start + len]).is_some_and(|v| (90..=125).contains(&v))
}

/// NANP numbers: area and exchange codes start 2-9, area is not N11;
/// other numbers with a `+` country code have 8 to 15 digits (E.164).
fn phone(m: &[u8]) -> bool {
    let d = digits(m);
    if m.first() == Some(&b'+') && m.get(1) != Some(&b'1') {
        return (8..=15).contains(&d.len()) && !all_same(&d);
    }
    let d = match d.len() {
        10 => &d[..],
        11 if d[0] == 1 => &d[1..],
        _ => return false,
    };
    d[0] >= 2
        && !(d[1] == 1 && d[2] == 1)
        && d[3] >= 2
        && !all_same(d)
        // 555-01xx is reserved for fiction; still a phone number in shape,
        // but 555-0100..0199 are never assigned.
        && !(d[3..6] == [5, 5, 5] && d[6] == 0 && d[7] == 1)
}

fn email(m: &[u8]) -> bool {
    // Query strings write the `@` as `%40` (`?recipient=jo%40mail.com`).
    let (local, domain) = match m.iter().rposition(|&b| b == b'@') {
        Some(at) => (&m[..at], &m[at + 1..]),
        None => match memchr::memmem::rfind(m, b"%40") {
            Some(at) => (&m[..at], &m[at + 3..]),
            None => return false,
        },
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&[u8]> = domain.split(|&b| b == b'.').collect();
    let Some(tld) = labels.last() else { return false };
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l[0] != b'-' && l[l.len() - 1] != b'-')
        && (2..=24).contains(&tld.len())
        && tld.iter().all(u8::is_ascii_alphabetic)
        && !local.starts_with(b".")
        && !local.ends_with(b".")
}

fn mac(m: &[u8]) -> bool {
    let hex: Vec<u8> =
        m.iter().copied().filter(u8::is_ascii_hexdigit).collect();
    let seps: Vec<u8> =
        m.iter().copied().filter(|b| !b.is_ascii_hexdigit()).collect();
    hex.len() == 12
        && seps.windows(2).all(|w| w[0] == w[1])
        && !hex.iter().all(|&b| b == b'0')
        && !hex.iter().all(|&b| b == b'f' || b == b'F')
}

/// The header segment decodes (base64url) to a JSON object with `alg`.
fn jwt(m: &[u8]) -> bool {
    let Some(header) = m.split(|&b| b == b'.').next() else { return false };
    let decoded = base64url_decode(header);
    decoded.first() == Some(&b'{')
        && decoded.windows(5).any(|w| w == b"\"alg\"")
}

fn base64url_decode(s: &[u8]) -> Vec<u8> {
    let val = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &b in s {
        let Some(v) = val(b) else { break };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Rejects placeholders and templating in `password=...` values.
fn secret_value(m: &[u8]) -> bool {
    let v = m.trim_ascii();
    let lower = v.to_ascii_lowercase();
    const PLACEHOLDERS: &[&[u8]] = &[
        b"null",
        b"none",
        b"nil",
        b"true",
        b"false",
        b"undefined",
        b"empty",
        b"redacted",
        b"<redacted>",
        b"[redacted]",
        b"xxx",
        b"xxxx",
        b"password",
        b"secret",
        b"changeme",
        b"example",
        b"string",
    ];
    v.len() >= 4
        && !PLACEHOLDERS.contains(&&lower[..])
        && !v.iter().all(|&b| b == b'*' || b == b'x' || b == b'X')
        && !v.starts_with(b"${")
        && !v.starts_with(b"{{")
        && !v.starts_with(b"%(")
        && !v.starts_with(b"[SECRET")
        && !(v.starts_with(b"<") && v.ends_with(b">"))
}

/// At least two of lower, upper, digit, and not a hex-only run of
/// git-SHA or UUID shape.
fn token(m: &[u8]) -> bool {
    let lower = m.iter().any(u8::is_ascii_lowercase);
    let upper = m.iter().any(u8::is_ascii_uppercase);
    let digit = m.iter().any(u8::is_ascii_digit);
    let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
    classes >= 2 && !m.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-')
}

/// Whether `m` is the URL of a published code system or standard, as FHIR
/// writes in `system` and `url` fields.
fn code_system_url(m: &[u8]) -> bool {
    const HOSTS: &[&[u8]] = &[
        b"terminology.hl7.org/",
        b"www.hl7.org/fhir/",
        b"loinc.org",
        b"snomed.info/",
        b"unitsofmeasure.org",
        b"www.nlm.nih.gov/research/umls/",
        b"www.ama-assn.org/go/cpt",
        b"www.cms.gov/medicare/coding/",
        b"www.whocc.no/atc",
        b"www.cdc.gov/nhsn/",
        b"hl7.org/fhir",
    ];
    let Some(rest) = [&b"http://"[..], b"https://"].iter().find_map(|p| {
        m.get(..p.len())
            .filter(|h| h.eq_ignore_ascii_case(p))
            .map(|_| &m[p.len()..])
    }) else {
        return false;
    };
    HOSTS.iter().any(|h| {
        rest.get(..h.len()).is_some_and(|r| r.eq_ignore_ascii_case(h))
            && (h.ends_with(b"/")
                || rest.len() == h.len()
                || matches!(rest[h.len()], b'/' | b'#' | b'?'))
    })
}

/// The house number is 1 to 6 digits without a leading zero.
fn street_address(m: &[u8]) -> bool {
    let n = m.iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=6).contains(&n) && m[0] != b'0'
}

fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

fn not_trivial(d: &[u8]) -> bool {
    let ascending = d.windows(2).all(|w| (w[0] + 1) % 10 == w[1]);
    let descending = d.windows(2).all(|w| (w[1] + 1) % 10 == w[0]);
    !d.is_empty() && !all_same(d) && !ascending && !descending
}

fn zip(m: &[u8]) -> bool {
    let d = digits(m);
    (d.len() == 5 || d.len() == 9) && !d[..5].iter().all(|&x| x == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Validator, s: &str) -> bool {
        let names = Names::default_pack();
        v.check(s.as_bytes(), 0..s.len(), names)
    }

    #[test]
    fn names_are_unique_and_resolve() {
        for (i, (n, v)) in Validator::NAMES.iter().enumerate() {
            assert_eq!(Validator::from_name(n), Some(*v));
            assert!(Validator::NAMES[i + 1..].iter().all(|(m, _)| m != n));
        }
        assert_eq!(Validator::from_name("nope"), None);
    }

    #[test]
    fn luhn_worked_examples() {
        // 4111 1111 1111 1111: doubled sum 30 + undoubled 8 ... = 30.
        assert!(check(Validator::CreditCard, "4111111111111111"));
        assert!(check(Validator::CreditCard, "4111 1111 1111 1111"));
        assert!(check(Validator::CreditCard, "5500-0000-0000-0004"));
        assert!(check(Validator::CreditCard, "378282246310005"));
        assert!(check(Validator::CreditCard, "6011111111111117"));
        // One digit off: the sum moves off a multiple of ten.
        assert!(!check(Validator::CreditCard, "4111111111111112"));
        // Luhn-valid but no issuer starts with 9.
        assert!(!check(Validator::CreditCard, "9111111111111119"));
        assert!(!check(Validator::CreditCard, "0000000000000000"));
        assert!(luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
    }

    #[test]
    fn npi_worked_examples() {
        // CMS example: base 123456789, Luhn sum 43 + 24 = 67, check 3.
        assert!(check(Validator::Npi, "1234567893"));
        assert!(!check(Validator::Npi, "1234567890"));
        // Right check digit rule, wrong first digit.
        assert!(!check(Validator::Npi, "3234567891"));
        assert!(!check(Validator::Npi, "123456789"));
    }

    #[test]
    fn dea_worked_examples() {
        // AP5836727: 5+3+6 = 14 ... (5+3+6) + 2*(8+6+2) = 14 + 32 = 46? The
        // digits are 5 8 3 6 7 2 7: (5+3+7) + 2*(8+6+2) = 15 + 32 = 47 -> 7.
        assert!(check(Validator::Dea, "AP5836727"));
        assert!(check(Validator::Dea, "ap5836727"));
        assert!(!check(Validator::Dea, "AP5836728"));
        // I and O are not registrant types.
        assert!(!check(Validator::Dea, "IP5836727"));
        assert!(check(Validator::Dea, "A95836727"));
    }

    #[test]
    fn vin_worked_examples() {
        assert!(check(Validator::Vin, "1M8GDM9AXKP042788"));
        assert!(!check(Validator::Vin, "11111111111111111"));
        assert!(check(Validator::Vin, "1HGCM82633A004352"));
        assert!(!check(Validator::Vin, "1HGCM82643A004352"));
        // Q is never used.
        assert!(!check(Validator::Vin, "1M8GDM9AXKQ042788"));
    }

    #[test]
    fn iban_worked_examples() {
        assert!(check(Validator::Iban, "GB82WEST12345698765432"));
        assert!(check(Validator::Iban, "GB82 WEST 1234 5698 7654 32"));
        assert!(check(Validator::Iban, "DE89370400440532013000"));
        assert!(!check(Validator::Iban, "GB83WEST12345698765432"));
        // Right checksum rule, wrong length for the country.
        assert!(!check(Validator::Iban, "DE8937040044053201300"));
        assert!(!check(Validator::Iban, "XX82WEST12345698765432"));
    }

    #[test]
    fn aba_worked_examples() {
        // 0 2 1 0 0 0 0 2 1: 3*(0+0+0) + 7*(2+0+2) + (1+0+1) = 30.
        assert!(check(Validator::Aba, "021000021"));
        assert!(check(Validator::Aba, "111000025"));
        assert!(!check(Validator::Aba, "021000022"));
        // Checksum passes but 50 is not an assigned prefix.
        assert!(!check(Validator::Aba, "500000005"));
    }

    #[test]
    fn ssn_ranges() {
        assert!(check(Validator::Ssn, "219-09-9999"));
        assert!(check(Validator::Ssn, "219099999"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "219-00-3456",
            "219-09-0000",
            "078-05-1120",
            "123-45-6789",
            "987-65-4320",
            "111-11-1111",
            "219-09 9999",
        ] {
            assert!(!check(Validator::Ssn, bad), "{bad}");
        }
    }

    #[test]
    fn mbi_format() {
        assert!(check(Validator::Mbi, "1EG4TE5MK73"));
        assert!(check(Validator::Mbi, "1EG4-TE5-MK73"));
        // Leading zero, excluded letter S, digit where a letter must be.
        assert!(!check(Validator::Mbi, "0EG4TE5MK73"));
        assert!(!check(Validator::Mbi, "1SG4TE5MK73"));
        assert!(!check(Validator::Mbi, "11G4TE5MK73"));
        assert!(!check(Validator::Mbi, "1EG4TE5MK7"));
    }

    #[test]
    fn ip_addresses() {
        assert!(check(Validator::Ipv4, "192.168.10.20"));
        assert!(check(Validator::Ipv4, "8.8.8.8"));
        assert!(!check(Validator::Ipv4, "256.1.1.1"));
        assert!(!check(Validator::Ipv4, "01.2.3.4"));
        let hay = b"version v1.2.3.4 and 1.2.3.4.5";
        assert!(!Validator::Ipv4.check(hay, 9..16, Names::default_pack()));
        assert!(!Validator::Ipv4.check(hay, 21..28, Names::default_pack()));
        assert!(check(Validator::Ipv6, "2001:db8::8a2e:370:7334"));
        assert!(check(Validator::Ipv6, "fe80::1ff:fe23:4567:890a"));
        assert!(!check(Validator::Ipv6, "12:30:45"));
        assert!(!check(Validator::Ipv6, "2001:db8:::1"));
    }

    #[test]
    fn dates_that_exist() {
        for ok in [
            "03/14/2024",
            "3/14/24",
            "2024-03-14",
            "14-Mar-2024",
            "March 14, 2024",
            "Mar 14",
            "14 March 2024",
            "March 14th, 2024",
            "02/29/2024",
            "31/12/2023",
        ] {
            assert!(check(Validator::Date, ok), "{ok}");
        }
        for bad in [
            "02/30/2024",
            "02/29/2023",
            "13/13/2024",
            "2024-13-01",
            "Feb 30",
            "00/10/2024",
            "03/14/1492",
        ] {
            assert!(!check(Validator::Date, bad), "{bad}");
        }
    }

    #[test]
    fn ages() {
        assert!(check(Validator::AgeOver89, "92-year-old"));
        assert!(check(Validator::AgeOver89, "aged 90"));
        assert!(!check(Validator::AgeOver89, "89-year-old"));
        assert!(!check(Validator::AgeOver89, "age 300"));
    }

    #[test]
    fn phones() {
        assert!(check(Validator::Phone, "(415) 555-2671"));
        assert!(check(Validator::Phone, "+1 415 555 2671"));
        assert!(check(Validator::Phone, "+44 20 7946 0958"));
        assert!(!check(Validator::Phone, "(015) 555-2671"));
        assert!(!check(Validator::Phone, "(415) 155-2671"));
        assert!(!check(Validator::Phone, "(411) 555-2671"));
        assert!(!check(Validator::Phone, "555-555-5555"));
        assert!(!check(Validator::Phone, "212-555-0123"));
    }

    #[test]
    fn codes_need_digits() {
        assert!(check(Validator::HasDigit, "TR558102"));
        assert!(check(Validator::HasDigit, "WDLTUOBPB1TA"));
        assert!(check(Validator::HasDigit, "WDLLDGNYGALG"));
        assert!(!check(Validator::HasDigit, "XDLLDGNYGALG"));
        assert!(!check(Validator::HasDigit, "ABC1"));
        assert!(!check(Validator::HasDigit, "pending"));
    }

    #[test]
    fn known_names_need_every_word_in_the_census() {
        assert!(check(Validator::PersonKnown, "Maria Smith"));
        assert!(!check(Validator::PersonKnown, "Portal"));
        assert!(!check(Validator::PersonKnown, "Maria Xqzt"));
    }

    #[test]
    fn emails_macs_tokens() {
        assert!(check(Validator::Email, "jane.doe@example.org"));
        assert!(!check(Validator::Email, "jane@localhost"));
        assert!(!check(Validator::Email, "a@b.c1"));
        let dsn = b"postgres://app:pw!1x@db.example.org/x";
        assert!(!Validator::Email.check(dsn, 18..34, Names::default_pack()));
        let query = b"https://x.example/?to=jo@example.org";
        assert!(Validator::Email.check(query, 22..36, Names::default_pack()));
        assert!(check(Validator::Mac, "00:1A:2b:3C:4d:5E"));
        assert!(!check(Validator::Mac, "00:1A-2b:3C:4d:5E"));
        assert!(!check(Validator::Mac, "ff:ff:ff:ff:ff:ff"));
        assert!(check(
            Validator::Token,
            "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z"
        ));
        assert!(!check(
            Validator::Token,
            "3f786850e387550fdab836ed7e6dc881de23001b"
        ));
        assert!(check(Validator::SecretValue, "hunter2!x"));
        assert!(!check(Validator::SecretValue, "${DB_PASSWORD}"));
        assert!(!check(Validator::SecretValue, "********"));
        assert!(!check(Validator::SecretValue, "null"));
    }

    #[test]
    fn jwt_header() {
        // {"alg":"HS256","typ":"JWT"}
        assert!(check(
            Validator::Jwt,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.abc"
        ));
        // {"foo":1}
        assert!(!check(Validator::Jwt, "eyJmb28iOjF9.eyJzdWIiOiIxIn0.abc"));
    }

    #[test]
    fn trivial_numbers() {
        assert!(!check(Validator::NotTrivial, "1234567890"));
        assert!(!check(Validator::NotTrivial, "0000000"));
        assert!(!check(Validator::NotTrivial, "987654"));
        assert!(check(Validator::NotTrivial, "48213377"));
        assert!(check(Validator::Zip, "02139"));
        assert!(!check(Validator::Zip, "00000"));
    }
}

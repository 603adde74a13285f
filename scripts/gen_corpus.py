"""Generate the synthetic labeled corpus tests/data/corpus.jsonl.

Every value is invented: identifiers are random numbers made to pass the
relevant checksum where a real one would, names come from the census name
lists, addresses are random combinations. Nothing here is real PHI.

Each line: {"id", "kind", "text", "labels": [{"entity", "start", "end"}]}
with UTF-8 byte offsets. Run from the repository root:

    python3 scripts/gen_corpus.py > tests/data/corpus.jsonl
"""
import json
import random
import string
import sys
import uuid
from pathlib import Path

R = random.Random(20261122)
ROOT = Path(__file__).resolve().parent.parent
COMMON = {
    w.strip().lower()
    for w in (ROOT / "patterns/names/common-words.txt").read_text().splitlines()
    if w.strip() and not w.startswith("#")
}
FIRST = [n for n in (ROOT / "patterns/names/first.txt").read_text().split() if n.lower() not in COMMON]
LAST = [n for n in (ROOT / "patterns/names/last.txt").read_text().split()[:4000] if n.lower() not in COMMON]
# Names outside the census lists, found only through cues (titles, labels).
RARE_FIRST = ["Zofia", "Tomás", "Chiamaka", "Ngozi", "Oluwaseun", "Søren", "Xiomara", "Anneliese", "Björn", "Ayşe"]
RARE_LAST = ["Okonkwo", "Wiśniewska", "Raghunathan", "Nakamura-Lee", "Adeyemi", "Ó Briain", "Kowalczyk", "Thorsdottir"]
STREETS = ["Maple", "Harbor View", "Oak", "Cedar", "Elm", "Washington", "Lakeview", "Sunset", "Pine", "Birch", "Highland", "Willow"]
SUFFIXES = ["Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Drive", "Dr", "Blvd", "Court", "Way", "Place"]
CITIES = [("Springfield", "IL"), ("Riverton", "WY"), ("Franklin", "TN"), ("Greenville", "SC"), ("Madison", "WI"), ("Salem", "OR"), ("Fairview", "PA"), ("Georgetown", "TX")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


class Doc:
    def __init__(self, kind):
        self.kind = kind
        self.parts = []
        self.labels = []
        self.len = 0

    def add(self, text, entity=None):
        b = text.encode()
        if entity:
            self.labels.append({"entity": entity, "start": self.len, "end": self.len + len(b)})
        self.parts.append(text)
        self.len += len(b)

    def fill(self, template, values):
        """template uses {slot}; values maps slot -> (text, entity|None|list of nested)."""
        i = 0
        while i < len(template):
            j = template.find("{", i)
            if j < 0:
                self.add(template[i:])
                break
            self.add(template[i:j])
            k = template.index("}", j)
            text, entity, nested = values[template[j + 1:k]]
            start = self.len
            self.add(text, entity)
            for (off_text, ent) in nested:
                off = text.encode().index(off_text.encode())
                self.labels.append({"entity": ent, "start": start + off, "end": start + off + len(off_text.encode())})
            i = k + 1

    def json(self, i):
        return {"id": i, "kind": self.kind, "text": "".join(self.parts), "labels": sorted(self.labels, key=lambda l: (l["start"], l["end"]))}


def digits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def luhn_complete(body, extra=0):
    total = extra
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return body + str((10 - total % 10) % 10)


def luhn_ok(s):
    d = [int(c) for c in s if c.isdigit()]
    total = 0
    for i, v in enumerate(reversed(d)):
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def card():
    prefix = R.choice(["4", "51", "52", "55", "6011", "2221"])
    body = prefix + digits(15 - len(prefix))
    n = luhn_complete(body)
    sep = R.choice(["", " ", "-"])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4))


def bad_card():
    while True:
        n = "4" + digits(15)
        if not luhn_ok(n):
            return n


def npi():
    return luhn_complete(R.choice("12") + digits(8), extra=24)


def dea():
    first = R.choice("ABFGM")
    second = R.choice(string.ascii_uppercase)
    d = [R.randint(0, 9) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


def vin():
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    translit = {**{c: i + 1 for i, c in enumerate("ABCDEFGH")}, **{c: i + 1 for i, c in enumerate("JKLMN")}, "P": 7, "R": 9, **{c: i + 2 for i, c in enumerate("STUVWXYZ")}}
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    while True:
        v = [R.choice("123JKL"), R.choice("ABCFGHN"), R.choice(alphabet)] + [R.choice(alphabet) for _ in range(14)]
        total = sum((int(c) if c.isdigit() else translit[c]) * w for c, w in zip(v, weights))
        r = total % 11
        v[8] = "X" if r == 10 else str(r)
        return "".join(v)


def iban():
    bban = "WEST" + digits(14) if R.random() < 0.5 else digits(18)
    cc = "GB" if bban.startswith("WEST") else "DE"
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    s = f"{cc}{check:02d}{bban}"
    if R.random() < 0.5:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def aba():
    prefix = R.choice([R.randint(1, 12), R.randint(21, 32), R.randint(61, 72)])
    body = [int(c) for c in f"{prefix:02d}" + digits(6)]
    for last in range(10):
        x = body + [last]
        if (3 * (x[0] + x[3] + x[6]) + 7 * (x[1] + x[4] + x[7]) + (x[2] + x[5] + x[8])) % 10 == 0:
            return "".join(map(str, x))


def mbi():
    a = "ACDEFGHJKMNPQRTUVWXY"
    an = a + string.digits
    s = R.choice("123456789") + R.choice(a) + R.choice(an) + R.choice(string.digits) + R.choice(a) + R.choice(an) + R.choice(string.digits) + R.choice(a) + R.choice(a) + digits(2)
    return s[:4] + "-" + s[4:7] + "-" + s[7:] if R.random() < 0.5 else s


def imei():
    return luhn_complete(digits(14))


def phone():
    area = R.randint(201, 989)
    while area % 100 == 11:
        area = R.randint(201, 989)
    ex = R.randint(200, 999)
    line = R.randint(2000, 9999)
    return R.choice([f"({area}) {ex}-{line}", f"{area}-{ex}-{line}", f"{area}.{ex}.{line}", f"+1 {area} {ex} {line}"])


def email(first, last):
    dom = R.choice(["example.org", "example.com", "mail.example.net", "clinic.example"])
    return R.choice([f"{first}.{last}@{dom}", f"{first[0]}{last}@{dom}", f"{last}{R.randint(1, 99)}@{dom}"]).lower()


def date_fmt():
    y = R.randint(1930, 2025)
    m = R.randint(1, 12)
    d = R.randint(1, 28)
    return R.choice([
        f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y % 100:02d}", f"{y}-{m:02d}-{d:02d}",
        f"{MONTHS[m - 1]} {d}, {y}", f"{MONTHS[m - 1][:3]} {d}", f"{d}-{MONTHS[m - 1][:3]}-{y}",
    ])


def person():
    return R.choice(FIRST), R.choice(LAST)


def address():
    num = str(R.randint(1, 9999))
    street = f"{num} {R.choice(STREETS)} {R.choice(SUFFIXES)}"
    if R.random() < 0.3:
        street += f", Apt {R.randint(1, 40)}{R.choice('ABC')}"
    if R.random() < 0.6:
        city, st = R.choice(CITIES)
        z = f"{R.randint(10000, 99999)}"
        return street + f", {city}, {st} {z}", [(z, "ZIP_CODE")]
    return street, []


def secret_value():
    return "".join(R.choice(string.ascii_letters + string.digits + "!#$") for _ in range(R.randint(10, 18)))


def jwt():
    import base64
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return enc(b'{"alg":"HS256","typ":"JWT"}') + "." + enc(json.dumps({"sub": digits(6)}).encode()) + "." + enc(bytes(R.randrange(256) for _ in range(32)))


def hard_negative():
    return R.choice([
        f"BP {R.randint(100, 160)}/{R.randint(60, 100)}, HR {R.randint(55, 110)}, SpO2 {R.randint(90, 100)}%.",
        f"ICD-10 {R.choice(['E11.9', 'I10', 'J45.909', 'M54.5', 'F41.1'])}; CPT {R.choice(['99213', '99214', '93000', '80053'])}.",
        f"{R.choice(['Metformin', 'Lisinopril', 'Atorvastatin'])} {R.choice([5, 10, 20, 500])} mg PO {R.choice(['daily', 'BID', 'TID'])}.",
        f"A1c {R.randint(50, 110) / 10}%, LDL {R.randint(70, 190)} mg/dL, creatinine {R.randint(6, 15) / 10} mg/dL.",
        f"Order #{digits(10)} for supplies was placed.",
        f"Invoice INV-{digits(6)} total ${R.randint(10, 999)}.{digits(2)}.",
        f"Lot {digits(4)}-{digits(2)} expires next year.",
        f"Reference {digits(9)} attached.",
        f"Tracking {bad_card()} in transit.",
        f"Take 1/2 tablet; ratio 3:1; score 12/15.",
    ])


def note(i):
    d = Doc("note")
    f, l = person()
    d.fill("Patient: {name}\n", {"name": (f"{f} {l}", "PERSON", [])})
    sentences = [
        ("DOB: {date}. MRN: {mrn}.\n", lambda: {"date": (date_fmt(), "DATE", []), "mrn": (R.choice(["", "MR-"]) + digits(R.randint(6, 9)), "MRN", [])}),
        ("Seen on {date} by Dr. {doc}.\n", lambda: {"date": (date_fmt(), "DATE", []), "doc": (R.choice(LAST + RARE_LAST), "PERSON", [])}),
        ("Pt is a {age}-year-old with a history of hypertension.\n", lambda: {"age": (str(R.randint(90, 104)), "AGE", [])}),
        ("Pt is a {age}-year-old with a history of asthma.\n", lambda: {"age": (str(R.randint(18, 85)), None, [])}),
        ("SSN {ssn} on file.\n", lambda: {"ssn": (ssn(), "SSN", [])}),
        ("Phone: {phone}; fax {fax}.\n", lambda: {"phone": (phone(), "PHONE", []), "fax": (phone(), "PHONE", [])}),
        ("Lives at {addr}.\n", lambda: (lambda a: {"addr": (a[0], "STREET_ADDRESS", a[1])})(address())),
        ("Medicare MBI {mbi}; Member ID: {member}.\n", lambda: {"mbi": (mbi(), "HEALTH_PLAN_ID", []), "member": (R.choice(["XJH", "MBR", "W"]) + digits(8), "HEALTH_PLAN_ID", [])}),
        ("Referred by Dr. {doc} (NPI {npi}).\n", lambda: (lambda p: {"doc": (f"{p[0]} {p[1]}", "PERSON", []), "npi": (npi(), "NPI", [])})(person())),
        ("Prescriber DEA# {dea}.\n", lambda: {"dea": (dea(), "DEA_NUMBER", [])}),
        ("Driver's License: {dl}. Passport No: {pp}.\n", lambda: {"dl": (R.choice("ABDSX") + digits(7), "DRIVER_LICENSE", []), "pp": (R.choice(["X", "C", ""]) + digits(8), "PASSPORT", [])}),
        ("MVA; vehicle VIN {vin} recorded.\n", lambda: {"vin": (vin(), "VIN", [])}),
        ("Pacemaker serial no: {sn}; phone IMEI {imei}.\n", lambda: {"sn": (f"PM{digits(4)}-{digits(4)}", "DEVICE_ID", []), "imei": (imei(), "DEVICE_ID", [])}),
        ("Contact email {email}.\n", lambda: (lambda p: {"email": (email(*p), "EMAIL", [])})(person())),
        ("Portal link {url}\n", lambda: {"url": (f"https://portal.example.org/patients/{digits(6)}/chart", "URL", [])}),
        ("Billing Account #: {acct}; routing {aba}.\n", lambda: {"acct": (digits(10), "ACCOUNT_NUMBER", []), "aba": (aba(), "ACCOUNT_NUMBER", [])}),
        ("Card on file {card}; IBAN {iban}.\n", lambda: {"card": (card(), "CREDIT_CARD", []), "iban": (iban(), "IBAN", [])}),
        ("Emergency contact: {ec}, {rel}.\n", lambda: {"ec": (f"{R.choice(RARE_FIRST)} {R.choice(RARE_LAST)}", "PERSON", []), "rel": (R.choice(["daughter", "son", "spouse"]), None, [])}),
        ("Her daughter {name} visited.\n", lambda: (lambda p: {"name": (f"{p[0]} {p[1]}", "PERSON", [])})(person())),
        ("Discharged {date} in stable condition.\n", lambda: {"date": (date_fmt(), "DATE", [])}),
        ("ZIP code: {zip}.\n", lambda: {"zip": (str(R.randint(10000, 99999)), "ZIP_CODE", [])}),
    ]
    for _ in range(R.randint(5, 9)):
        if R.random() < 0.35:
            d.add(hard_negative() + "\n")
        else:
            t, v = R.choice(sentences)
            d.fill(t, v())
    return d


def log(i):
    d = Doc("log")
    for n in range(R.randint(6, 14)):
        ts = f"2024-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}Z"
        d.add(f"{ts} ")
        lines = [
            ("INFO request {u} completed in {ms}ms\n", lambda: {"u": (str(uuid.UUID(int=R.getrandbits(128))), None, []), "ms": (str(R.randint(1, 900)), None, [])}),
            ("DEBUG commit {sha} deployed version {ver}\n", lambda: {"sha": ("%040x" % R.getrandbits(160), None, []), "ver": (f"{R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 99)}", None, [])}),
            ("WARN order {o} retried 3 times\n", lambda: {"o": (digits(10), None, [])}),
            ("INFO login user={email} ip={ip}\n", lambda: (lambda p: {"email": (email(*p), "EMAIL", []), "ip": (f"{R.randint(11, 223)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}", "IP_ADDRESS", [])})(person())),
            ("ERROR payment failed card={card}\n", lambda: {"card": (card(), "CREDIT_CARD", [])}),
            ("ERROR payment failed ref={card}\n", lambda: {"card": (bad_card(), None, [])}),
            ("DEBUG connecting to postgres://svc_app:{pw}@db.internal:5432/ehr\n", lambda: {"pw": (secret_value(), "SECRET", [])}),
            ("INFO issued token {jwt}\n", lambda: {"jwt": (jwt(), "SECRET", [])}),
            ("DEBUG Authorization: Bearer {tok}\n", lambda: {"tok": ("".join(R.choice(string.ascii_letters + string.digits) for _ in range(32)), "SECRET", [])}),
            ("WARN aws key {akia} used from new region\n", lambda: {"akia": ("AKIA" + "".join(R.choice(string.ascii_uppercase + "234567") for _ in range(16)), "SECRET", [])}),
            ("INFO device {mac} joined vlan 20\n", lambda: {"mac": (":".join("%02x" % R.randrange(256) for _ in range(6)), "MAC_ADDRESS", [])}),
            ("INFO patient lookup mrn={mrn} ok\n", lambda: {"mrn": (digits(8), "MRN", [])}),
            ("INFO GET {url} 200\n", lambda: {"url": (f"https://api.example.com/v2/records/{digits(7)}?format=json", "URL", [])}),
            ("INFO peer {ip6} connected\n", lambda: {"ip6": (f"2001:db8:{R.randrange(65536):x}::{R.randrange(65536):x}:{R.randrange(1, 65536):x}", "IP_ADDRESS", [])}),
            ("INFO build v{v} promoted\n", lambda: {"v": (f"{R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 99)}", None, [])}),
            ("INFO invoice INV-{n} total 129.50 USD\n", lambda: {"n": (digits(7), None, [])}),
            ("INFO config password={pw} loaded\n", lambda: {"pw": (secret_value(), "SECRET", [])}),
            ("INFO config password={ph} loaded\n", lambda: {"ph": ("${DB_PASSWORD}", None, [])}),
            # Dates inside a line (not its leading timestamp) are reported.
            ("INFO queue depth 1250 at {date} batch 77\n", lambda: {"date": ("2024-03-14", "DATE", [])}),
            ("INFO scheduled visit for patient DOB {date}\n", lambda: {"date": (date_fmt(), "DATE", [])}),
        ]
        t, v = R.choice(lines)
        d.fill(t, v())
    return d


def json_doc(i):
    d = Doc("json")
    f, l = person()
    pieces = [
        ('{"id": "', None), (str(uuid.UUID(int=R.getrandbits(128))), None),
        ('", "patient": {"name": "', None), (f"{f} {l}", "PERSON"),
        ('", "dob": "', None), (f"{R.randint(1930, 2020)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}", "DATE"),
        ('", "ssn": "', None), (ssn(), "SSN"),
        ('", "contact": {"phone": "', None), (phone(), "PHONE"),
        ('", "email": "', None), (email(f, l), "EMAIL"),
        ('"}}, "visits": ', None), (str(R.randint(1, 40)), None),
        (', "dx": "', None), (R.choice(["E11.9", "I10", "Z00.00"]), None),
        ('", "version": "', None), (f"{R.randint(1, 5)}.{R.randint(0, 9)}.{R.randint(0, 9)}", None),
        ('"}\n', None),
    ]
    for text, ent in pieces:
        d.add(text, ent)
    return d


def csv_doc(i):
    d = Doc("csv")
    d.add("id,name,dob,ssn,phone,email,amount\n")
    for n in range(R.randint(3, 8)):
        f, l = person()
        d.add(f"{n + 1},")
        d.add(f"{f} {l}", "PERSON")
        d.add(",")
        d.add(f"{R.randint(1, 12):02d}/{R.randint(1, 28):02d}/{R.randint(1930, 2020)}", "DATE")
        d.add(",")
        d.add(ssn(), "SSN")
        d.add(",")
        d.add(phone(), "PHONE")
        d.add(",")
        d.add(email(f, l), "EMAIL")
        d.add(f",{R.randint(1, 999)}.{digits(2)}\n")
    return d


def main():
    out = sys.stdout
    makers = [note] * 5 + [log] * 4 + [json_doc] * 2 + [csv_doc]
    for i in range(480):
        d = R.choice(makers)(i)
        out.write(json.dumps(d.json(i), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

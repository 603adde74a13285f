"""Tables as exports write them: CSV dialects, pg_dump, mysqldump, psql
sessions and hand-written SQL.

A table is a list of columns; each column has a name (spelled in the
table's naming style), a SQL type and a value maker. Values of PHI columns
are gold even where no pattern would match them alone (`518830` under
`patientMrn`): the column is the evidence.
"""

import datetime

from . import values as v
from .doc import P
from .logs import key_style
from .record import Record

R = v.R


def spell(words, style):
    if style == "title":
        return " ".join(w.capitalize() if w not in ("npi", "mrn", "ssn", "dob", "dl", "id", "ip", "zip") else w.upper() for w in words)
    if style == "upper_space":
        return " ".join(words).upper()
    return key_style(words, style)


def age_value(r):
    a = R.choice([v.age_over_89(), R.randint(40, 89)])
    return P("AGE", str(a)) if a > 89 else str(a)


# (name variants, sql type, value maker(record) -> piece or str or None)
COLUMNS = {
    "id": ([["id"]], "integer", None),
    "mrn": ([["mrn"], ["patient", "mrn"], ["medical", "record", "number"], ["mrn", "no"], ["chart", "number"], ["pt", "mrn"]], "text", lambda r: P("MRN", R.choice([r.mrn, v.digits(6), "0" + v.digits(6)]))),
    "first": ([["first", "name"], ["given", "name"], ["fname"], ["patient", "first", "name"], ["first"]], "text", lambda r: P("PERSON", r.pt.first)),
    "last": ([["last", "name"], ["family", "name"], ["surname"], ["lname"], ["patient", "last", "name"]], "text", lambda r: P("PERSON", r.pt.last)),
    "full": ([["patient", "name"], ["name"], ["patient"], ["member", "name"], ["decedent"]], "text", lambda r: P("PERSON", R.choice([r.pt.full(), f"{r.pt.last}, {r.pt.first}", f"{r.pt.last.upper()},{r.pt.first.upper()}"]))),
    "dob": ([["dob"], ["birth", "date"], ["date", "of", "birth"], ["birthdate"], ["patient", "dob"]], "date", "date"),
    "ssn": ([["ssn"], ["social", "security", "number"], ["patient", "ssn"], ["ssn", "num"], ["tin"]], "text", lambda r: P("SSN", v.ssn(R.choice(["dash", "plain"])))),
    "phone": ([["phone"], ["home", "phone"], ["cell"], ["mobile", "number"], ["phone", "number"], ["fax"], ["contact", "tel"]], "text", lambda r: P("PHONE", v.phone())),
    "email": ([["email"], ["email", "address"], ["contact", "email"], ["e", "mail"]], "text", lambda r: P("EMAIL", r.email)),
    "street": ([["address"], ["street"], ["address", "line1"], ["addr1"], ["street", "address"], ["home", "address"]], "text", lambda r: P("STREET_ADDRESS", r.addr.street)),
    "city": ([["city"], ["town"]], "text", lambda r: P("STREET_ADDRESS", r.addr.city)),
    "state": ([["state"], ["st"]], "text", lambda r: r.addr.state),
    "zip": ([["zip"], ["zip", "code"], ["postal", "code"], ["zipcode"]], "text", lambda r: P("ZIP_CODE", R.choice([r.addr.zip, r.addr.zip_text()]))),
    "member": ([["member", "id"], ["subscriber", "id"], ["policy", "number"], ["medicaid", "id"], ["mbi"], ["insurance", "id"]], "text", lambda r: P("HEALTH_PLAN_ID", r.member)),
    "npi": ([["provider", "npi"], ["certifier", "npi"], ["attending", "npi"], ["prescriber", "npi"], ["npi"], ["ordering", "npi"], ["rendering", "provider", "npi"]], "text", lambda r: P("NPI", v.npi())),
    "dea": ([["dea"], ["dea", "number"], ["prescriber", "dea"]], "text", lambda r: P("DEA_NUMBER", v.dea())),
    "dl": ([["owner", "dl"], ["drivers", "license"], ["dl", "number"], ["license", "no"], ["driver", "license", "num"]], "text", lambda r: P("DRIVER_LICENSE", R.choice([r.dl, v.digits(8), v.digits(7)]))),
    "passport": ([["passport", "no"], ["passport"], ["passport", "number"]], "text", lambda r: P("PASSPORT", v.passport())),
    "device": ([["device", "serial"], ["serial", "number"], ["udi"], ["implant", "serial"], ["device", "id"]], "text", lambda r: P("DEVICE_ID", R.choice([r.device, r.udi, v.digits(9)]))),
    "account": ([["account", "no"], ["acct"], ["billing", "account"], ["account", "number"], ["guarantor", "account"]], "text", lambda r: P("ACCOUNT_NUMBER", R.choice([r.account, v.digits(7)]))),
    "routing": ([["routing", "number"], ["aba"], ["bank", "routing"]], "text", lambda r: P("ACCOUNT_NUMBER", r.routing)),
    "card": ([["card", "number"], ["cc", "num"], ["pan"]], "text", lambda r: P("CREDIT_CARD", v.card(""))),
    "vin": ([["vin"], ["vehicle", "vin"]], "text", lambda r: P("VIN", v.vin())),
    "ip": ([["ip", "address"], ["last", "login", "ip"], ["client", "ip"], ["remote", "addr"]], "text", lambda r: P("IP_ADDRESS", v.ipv4())),
    "mac": ([["mac", "address"], ["mac"], ["hw", "addr"]], "text", lambda r: P("MAC_ADDRESS", v.mac())),
    "token": ([["csrf", "token"], ["secret", "access", "key"], ["session", "token"], ["api", "key"], ["refresh", "token"], ["client", "secret"]], "text", lambda r: P("SECRET", R.choice([v.session_token(), v.aws_secret(), v.api_token()]))),
    "age": ([["age", "at", "death"], ["age"], ["age", "years"], ["patient", "age"]], "integer", age_value),
    "admit": ([["admit", "date"], ["admission", "date"], ["admitted", "on"]], "date", "date"),
    "visit": ([["visit", "date"], ["date", "of", "service"], ["service", "date"], ["dos"]], "date", "date"),
    "death": ([["date", "of", "death"], ["death", "date"], ["dod"]], "date", "date"),
    # Negatives: columns of numbers and codes that are not PHI.
    "order": ([["order", "id"], ["order", "no"], ["invoice", "number"]], "integer", lambda r: v.digits(R.randint(6, 10)).lstrip("0") or "7"),
    "amount": ([["amount"], ["total", "charges"], ["balance"], ["paid", "amt"]], "numeric", lambda r: f"{R.randint(0, 99999)}.{v.digits(2)}"),
    "qty": ([["quantity"], ["qty"], ["units"]], "integer", lambda r: str(R.randint(1, 500))),
    "icd": ([["icd10"], ["dx", "code"], ["diagnosis", "code"], ["primary", "dx"]], "text", lambda r: R.choice(v.ICD10)),
    "cpt": ([["cpt"], ["procedure", "code"], ["cpt", "code"]], "text", lambda r: R.choice(v.CPT)),
    "ndc": ([["ndc"], ["ndc", "code"]], "text", lambda r: v.ndc()),
    "drg": ([["drg"], ["ms", "drg"]], "integer", lambda r: str(R.randint(1, 999))),
    "status": ([["status"], ["claim", "status"], ["state", "code"]], "text", lambda r: R.choice(["active", "closed", "pending", "A", "I", "1", "0"])),
    "created": ([["created", "at"], ["updated", "at"], ["inserted", "at"], ["last", "modified"]], "timestamp", "ts"),
    "los": ([["los", "days"], ["length", "of", "stay"]], "integer", lambda r: str(R.randint(0, 40))),
    "lab": ([["result", "value"], ["glucose"], ["hgb"]], "numeric", lambda r: f"{R.randint(1, 400)}.{R.randint(0, 9)}"),
    "note": ([["note"], ["notes"], ["comments"], ["clinical", "note"]], "text", "note"),
}

TABLES = {
    "patients": ["id", "mrn", "first", "last", "dob", "ssn", "phone", "email", "street", "city", "state", "zip", "member", "created", "status"],
    "encounters": ["id", "mrn", "full", "admit", "visit", "npi", "icd", "cpt", "drg", "los", "amount", "note", "created"],
    "prescriptions": ["id", "order", "mrn", "last", "npi", "dea", "ndc", "qty", "status", "created"],
    "devices": ["id", "mrn", "device", "mac", "ip", "status", "created"],
    "claims": ["id", "order", "member", "account", "routing", "amount", "icd", "cpt", "status", "visit"],
    "deaths": ["id", "full", "dob", "death", "age", "npi", "street", "city", "zip", "icd"],
    "app_users": ["id", "email", "token", "ip", "created", "status"],
    "registrations": ["id", "first", "last", "dl", "passport", "vin", "phone", "card", "created"],
    "lab_results": ["id", "mrn", "full", "visit", "lab", "qty", "status"],
}


def note_value(r):
    return R.choice([
        ["Pt ", P("PERSON", r.pt.full()), " called from ", P("PHONE", v.phone()), "; ", v.hard_negative_sentence()],
        [v.hard_negative_sentence(), " f/u with ", P("PERSON", "Dr. " + r.doc.last), " on ", v.date_piece(v.recent_date(), "us"), "."],
        [v.hard_negative_sentence()],
        ["Lives at ", P("STREET_ADDRESS", r.addr.street), ". ", v.hard_negative_sentence(), "\n", "Daughter ", P("PERSON", r.kin.first), " at bedside."],
        [""],
    ])


class Table:
    def __init__(self, name=None, style=None, date_style=None, kinds=None):
        self.name = name or R.choice(list(TABLES))
        fixed = kinds is not None
        kinds = list(kinds or TABLES[self.name])
        extra = [k for k in COLUMNS if k not in kinds and R.random() < 0.08 and not fixed]
        kinds += extra
        if R.random() < 0.5 and not fixed:
            head, rest = kinds[:1], kinds[1:]
            R.shuffle(rest)
            kinds = head + rest
        self.style = style or R.choice(["snake", "snake", "camel", "upper_snake", "title", "pascal", "lower"])
        self.date_style = date_style or R.choice(["iso", "iso", "us", "us_nozero", "eu_dot", "compact", "DD-MON-YYYY"])
        self.kinds = kinds
        self.cols = [spell(R.choice(COLUMNS[k][0]), self.style) for k in kinds]
        # SQL identifiers: a title-style name becomes snake case in a database.
        self.sql_cols = [spell(R.choice([w for w in COLUMNS[k][0]]), "snake") if self.style in ("title", "upper_space") else c for k, c in zip(kinds, self.cols)]

    def types(self):
        return [COLUMNS[k][1] for k in self.kinds]

    def row(self, i):
        r = Record()
        out = []
        for k in self.kinds:
            maker = COLUMNS[k][2]
            if k == "id":
                out.append(str(i + 1))
            elif maker == "date":
                d = {"dob": r.dob, "admit": r.admit, "visit": r.visit, "death": v.recent_date()}.get(k, v.recent_date())
                out.append(P("DATE", v.fmt_date(d, self.date_style)))
            elif maker == "ts":
                out.append(v.event_time()[0].strftime("%Y-%m-%d %H:%M:%S"))
            elif maker == "note":
                out.append(note_value(r))
            else:
                val = maker(r)
                if R.random() < 0.04 and k not in ("status", "amount"):
                    val = None
                out.append(val)
        return out


def cell_text(val):
    if val is None:
        return ""
    if isinstance(val, list):
        return "".join(x if isinstance(x, str) else x.text() for x in val)
    return val if isinstance(val, str) else val.text()


# ---------------------------------------------------------------- CSV


def csv_cell(d, val, delim, quote_all, naive=None):
    """One field. `naive`: how a hand-rolled writer gets it wrong: "raw"
    never quotes (a delimiter in a note adds a field), "unescaped" quotes
    every field but leaves inner quotes single (`"said "hi" today"`)."""
    text = cell_text(val)
    if naive == "raw":
        d.add(val if val is not None else "")
        return
    if naive == "unescaped":
        d.add('"', val if val is not None else "", '"')
        return
    needs = quote_all or any(c in text for c in (delim, '"', "\n", "\r"))
    if not needs:
        d.add(val if val is not None else "")
        return
    d.add('"')
    pieces = val if isinstance(val, list) else [val]
    for p in pieces:
        if p is None:
            continue
        if isinstance(p, str):
            d.add(p.replace('"', '""'))
        else:
            d.add(P(p.ent, p.text().replace('"', '""')))
    d.add('"')


def make_csv(d_factory):
    delim = R.choice([",", ",", ";", "\t", "|"])
    ext = {"\t": "tsv"}.get(delim, "csv") if R.random() < 0.7 else "csv"
    if delim == "\t" and R.random() < 0.5:
        ext = "txt"
    header = R.random() < 0.8
    preamble = R.random() < 0.25
    eu = delim == ";" and R.random() < 0.7
    # A list of one column (NPIs to credential, MRNs to merge), and the
    # writers that do not follow RFC 4180.
    single = R.random() < 0.06
    naive = R.choice(["raw", "unescaped"]) if R.random() < 0.08 else None
    kinds = [R.choice(["npi", "mrn", "email", "ssn", "phone", "member", "dl", "full"])] if single else None
    t = Table(date_style="eu_dot" if eu else None, kinds=kinds)
    name = f"csv_{ {',': 'comma', ';': 'semicolon', chr(9): 'tab', '|': 'pipe'}[delim]}{'' if header else '_noheader'}{'_preamble' if preamble else ''}{'_onecolumn' if single else ''}{'_' + naive if naive else ''}"
    d = d_factory("table", name, "csv", ext)
    eol = "\r\n" if R.random() < 0.3 else "\n"
    quote_all = R.random() < 0.3
    if R.random() < 0.1:
        d.add("\ufeff")
    if preamble:
        d.add(R.choice(["Report: Admissions", "Patient Roster Export", "Monthly Claims Extract", "Deaths Report (Q3)"]), eol)
        d.add(f"Generated {v.fmt_date(v.recent_date(), 'iso')} by {R.choice(['etl_user', 'report_svc', 'jdoe'])}", eol)
        if R.random() < 0.5:
            d.add(f"Facility: {R.choice(['Springfield General', 'Northside Clinic'])}", eol)
        d.add(eol)
    if header:
        for i, c in enumerate(t.cols):
            if i:
                d.add(delim)
            csv_cell(d, c, delim, quote_all)
        d.add(eol)
    for i in range(R.randint(4, 30)):
        row = t.row(i)
        for j, val in enumerate(row):
            if j:
                d.add(delim)
            if eu and t.kinds[j] == "amount" and val:
                val = val.replace(".", ",")
            csv_cell(d, val, delim, quote_all, naive)
        d.add(eol)
    if R.random() < 0.1:
        d.add(f"Total rows: {i + 1}{eol}")
    return d


def make_kv_table(d_factory):
    """One record exported a field per row, as an EHR's summary screen or a
    form is saved to CSV or TSV: the label is the field before the value,
    and often there is no header at all."""
    delim = R.choice(["\t", "\t", ",", ";", "|"])
    header = R.random() < 0.4
    ext = "tsv" if delim == "\t" and R.random() < 0.6 else ("txt" if delim == "\t" else "csv")
    name = f"kv_table_{ {',': 'comma', ';': 'semicolon', chr(9): 'tab', '|': 'pipe'}[delim]}{'' if header else '_noheader'}"
    d = d_factory("table", name, "csv", ext)
    t = Table(style=R.choice(["title", "title", "upper_space", "snake"]))
    eol = "\r\n" if R.random() < 0.3 else "\n"
    if header:
        d.add(R.choice(["Field", "Attribute", "Name", "Item"]), delim, R.choice(["Value", "Data", "Result"]), eol)
    for _ in range(R.randint(1, 3)):
        for c, k, val in zip(t.cols, t.kinds, t.row(0)):
            if k == "id":
                continue
            csv_cell(d, c, delim, False)
            d.add(delim)
            csv_cell(d, val, delim, False)
            d.add(eol)
        if R.random() < 0.5:
            d.add(eol)
        t = Table(name=t.name, style=t.style, date_style=t.date_style)
    return d


# ---------------------------------------------------------------- SQL


def sql_literal(d, val, ty, dialect):
    if val is None:
        d.add("NULL")
        return
    text = cell_text(val)
    if ty in ("integer", "numeric") and text.replace(".", "").isdigit():
        d.add(val)
        return
    d.add("'")
    pieces = val if isinstance(val, list) else [val]
    for p in pieces:
        if isinstance(p, str):
            s = p.replace("'", "''")
            if dialect == "mysql":
                s = s.replace("\n", "\\n")
            d.add(s)
        else:
            s = p.text().replace("'", "''")
            if dialect == "mysql":
                s = s.replace("\n", "\\n")
            d.add(P(p.ent, s))
    d.add("'")


def copy_value(d, val):
    if val is None:
        d.add("\\N")
        return
    pieces = val if isinstance(val, list) else [val]
    for p in pieces:
        esc = lambda s: s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        if isinstance(p, str):
            d.add(esc(p))
        else:
            d.add(P(p.ent, esc(p.text())))


PG_TYPES = {"integer": "integer", "text": "text", "date": "text", "timestamp": "timestamp without time zone", "numeric": "numeric(12,2)"}


def pg_create(d, t, schema="public"):
    d.add(f"--\n-- Name: {t.name}; Type: TABLE; Schema: {schema}; Owner: clinic\n--\n\n")
    d.add(f"CREATE TABLE {schema}.{t.name} (\n")
    for i, (c, ty) in enumerate(zip(t.sql_cols, t.types())):
        d.add(f"    {c} {PG_TYPES[ty]}{' NOT NULL' if c == 'id' else ''}{',' if i < len(t.sql_cols) - 1 else ''}\n")
    d.add(");\n\n\n")
    d.add(f"ALTER TABLE {schema}.{t.name} OWNER TO clinic;\n\n")


def make_pg_dump(d_factory):
    mode = R.choice(["copy", "copy", "inserts", "column_inserts"])
    d = d_factory("table", "pg_dump_" + mode, "pg-dump", "sql")
    d.add("--\n-- PostgreSQL database dump\n--\n\n")
    if R.random() < 0.5:
        d.add(f"\\restrict {v.sha(32)}\n\n")
    d.add(f"-- Dumped from database version 15.{R.randint(2, 12)}\n-- Dumped by pg_dump version 15.{R.randint(2, 12)}\n\n")
    d.add("SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n")
    # One schema: every table created before any data, so names are distinct.
    names = R.sample(sorted(TABLES), R.randint(1, 3))
    tables = [Table(name=n, style=R.choice(["snake", "snake", "lower"])) for n in names]
    for t in tables:
        pg_create(d, t)
    for t in tables:
        d.add(f"--\n-- Data for Name: {t.name}; Type: TABLE DATA; Schema: public; Owner: clinic\n--\n\n")
        n = R.randint(3, 25)
        if mode == "copy":
            d.add(f"COPY public.{t.name} ({', '.join(t.sql_cols)}) FROM stdin;\n")
            for i in range(n):
                for j, val in enumerate(t.row(i)):
                    if j:
                        d.add("\t")
                    copy_value(d, val)
                d.add("\n")
            d.add("\\.\n\n\n")
        else:
            for i in range(n):
                cols = f" ({', '.join(t.sql_cols)})" if mode == "column_inserts" else ""
                d.add(f"INSERT INTO public.{t.name}{cols} VALUES (")
                for j, (val, ty) in enumerate(zip(t.row(i), t.types())):
                    if j:
                        d.add(", ")
                    sql_literal(d, val, ty, "pg")
                d.add(");\n")
            d.add("\n\n")
    if R.random() < 0.5:
        d.add(f"--\n-- Name: {tables[0].name} {tables[0].name}_pkey; Type: CONSTRAINT; Schema: public; Owner: clinic\n--\n\n")
        d.add(f"ALTER TABLE ONLY public.{tables[0].name}\n    ADD CONSTRAINT {tables[0].name}_pkey PRIMARY KEY (id);\n\n")
    d.add("--\n-- PostgreSQL database dump complete\n--\n\n")
    return d


MY_TYPES = {"integer": "int NOT NULL", "text": "varchar(255) DEFAULT NULL", "date": "varchar(32) DEFAULT NULL", "timestamp": "datetime DEFAULT NULL", "numeric": "decimal(12,2) DEFAULT NULL"}


def make_mysqldump(d_factory):
    d = d_factory("table", "mysqldump", "mysql-dump", "sql")
    host = v.ipv4(True)
    d.add(f"-- MySQL dump 10.13  Distrib 8.0.{R.randint(20, 39)}, for Linux (x86_64)\n--\n-- Host: ", P("IP_ADDRESS", host), "    Database: clinic\n")
    d.add("-- ------------------------------------------------------\n-- Server version\t8.0.36\n\n")
    d.add("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n/*!50503 SET NAMES utf8mb4 */;\n\n")
    for _ in range(R.randint(1, 2)):
        t = Table(style=R.choice(["snake", "camel", "lower"]))
        d.add(f"--\n-- Table structure for table `{t.name}`\n--\n\nDROP TABLE IF EXISTS `{t.name}`;\nCREATE TABLE `{t.name}` (\n")
        for c, ty in zip(t.sql_cols, t.types()):
            d.add(f"  `{c}` {MY_TYPES[ty]},\n")
        d.add("  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n")
        d.add(f"--\n-- Dumping data for table `{t.name}`\n--\n\nLOCK TABLES `{t.name}` WRITE;\n/*!40000 ALTER TABLE `{t.name}` DISABLE KEYS */;\n")
        d.add(f"INSERT INTO `{t.name}` VALUES ")
        n = R.randint(3, 20)
        for i in range(n):
            d.add("," if i else "", "(")
            for j, (val, ty) in enumerate(zip(t.row(i), t.types())):
                if j:
                    d.add(",")
                sql_literal(d, val, ty, "mysql")
            d.add(")")
        d.add(";\n")
        d.add(f"/*!40000 ALTER TABLE `{t.name}` ENABLE KEYS */;\nUNLOCK TABLES;\n\n")
    d.add(f"-- Dump completed on {v.event_time()[0].strftime('%Y-%m-%d %H:%M:%S')}\n")
    return d


def make_psql_transcript(d_factory):
    d = d_factory("table", "psql_transcript", "sql", "sql")
    prompt = R.choice(["clinic=> ", "clinic=# ", "ehr_prod=> ", "postgres=# "])
    r = Record()
    d.add(f"psql (15.{R.randint(2, 12)})\nType \"help\" for help.\n\n")
    for _ in range(R.randint(2, 5)):
        x = R.random()
        if x < 0.35:
            cols = [("mrn", P("MRN", r.mrn)), ("last_name", P("PERSON", r.pt.last)), ("first_name", P("PERSON", r.pt.first)), ("dob", P("DATE", r.dob.isoformat())), ("phone", P("PHONE", r.phone))]
            cols = R.sample(cols, k=R.randint(2, 5))
            d.add(prompt, f"SELECT {', '.join(c for c, _ in cols)} FROM patients WHERE ", R.choice([["last_name = '", P("PERSON", r.pt.last), "'"], ["mrn = '", P("MRN", r.mrn), "'"]]), ";\n")
            widths = [max(len(c), len(cell_text(v_))) + 1 for c, v_ in cols]
            d.add("|".join(f" {c:<{w}}" for (c, _), w in zip(cols, widths)), "\n")
            d.add("+".join("-" * (w + 1) for w in widths), "\n")
            for i, ((c, val), w) in enumerate(zip(cols, widths)):
                d.add("|" if i else "", " ", val, " " * (w - len(cell_text(val))))
            d.add("\n(1 row)\n\n")
        elif x < 0.6:
            k = R.choice([("phone", P("PHONE", v.phone())), ("email", P("EMAIL", v.email(r.pt))), ("device_udi", P("DEVICE_ID", r.udi)), ("mac_address", P("MAC_ADDRESS", v.mac()))])
            d.add(prompt, f"UPDATE patients SET {k[0]} = '", k[1], "' WHERE ", R.choice(["patient_mrn", "mrn"]), " = '", P("MRN", r.mrn), "';\nUPDATE 1\n")
        elif x < 0.8:
            d.add(prompt, "INSERT INTO patients (mrn, first_name, last_name, ssn) VALUES ('", P("MRN", v.mrn()), "', '", P("PERSON", r.kin.first), "', '", P("PERSON", r.kin.last.replace("'", "''")), "', '", P("SSN", v.ssn("dash")), "')\n")
            d.add("clinic-> ON CONFLICT (mrn) DO UPDATE SET last_name = EXCLUDED.last_name;\nINSERT 0 1\n")
        else:
            d.add(prompt, "DELETE FROM sessions WHERE ip = '", P("IP_ADDRESS", v.ipv4()), "';\nDELETE ", str(R.randint(0, 9)), "\n")
    d.add(prompt, "\\q\n")
    return d


def make_hand_sql(d_factory):
    d = d_factory("table", "hand_sql", "sql", "sql")
    d.add(f"-- fix bad merges, ticket CHG{v.digits(7)}\n-- run by ", P("PERSON", v.Person().full()), " on ", v.event_time()[0].strftime("%Y-%m-%d"), "\nBEGIN;\n")
    for _ in range(R.randint(3, 8)):
        r = Record()
        x = R.random()
        if x < 0.3:
            d.add("UPDATE patients SET last_name = '", P("PERSON", r.pt.last.replace("'", "''")), "', dob = '", P("DATE", r.dob.isoformat()), "' WHERE mrn = '", P("MRN", r.mrn), "';\n")
        elif x < 0.55:
            d.add("INSERT INTO patients (mrn, first_name, last_name, phone) VALUES ('", P("MRN", r.mrn), "', '", P("PERSON", r.pt.first), "', '", P("PERSON", r.pt.last.replace("'", "''")), "', '", P("PHONE", r.phone), "')\n  ON CONFLICT (mrn) DO NOTHING;\n")
        elif x < 0.75:
            d.add("DELETE FROM patient_links WHERE ssn = '", P("SSN", r.ssn), "' AND link_id = ", str(R.randint(1, 9999)), ";\n")
        else:
            d.add("UPDATE devices SET serial = '", P("DEVICE_ID", r.device), "', mac = '", P("MAC_ADDRESS", r.mac), "' WHERE owner_mrn = '", P("MRN", r.mrn), "';\n")
    d.add("COMMIT;\n")
    return d

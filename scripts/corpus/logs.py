"""Application and infrastructure logs in the formats services write.

A log document is one file of one format: a line prefix (timestamp, level,
logger, thread, in that format's layout) and messages. Messages come from a
pool of events; an event's fields are rendered the way that format renders
structured data (logfmt, JSON, Python and Ruby reprs, Java toString, Go %+v,
query strings). Event timestamps are not gold: they are not tied to a
person. Dates inside messages (an appointment, a birth date) are.
"""

import json

from . import values as v
from .doc import P
from .record import Record

R = v.R


def key_style(words, style=None):
    """A field name from its words, in one of the spellings code uses."""
    st = style or R.choice(["snake", "snake", "camel", "lower", "kebab", "upper_snake", "pascal"])
    if st == "snake":
        return "_".join(words)
    if st == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if st == "pascal":
        return "".join(w.capitalize() for w in words)
    if st == "kebab":
        return "-".join(words)
    if st == "upper_snake":
        return "_".join(words).upper()
    return "".join(words)


# Field name variants for each kind of value (words, joined by key_style).
KEYS = {
    "mrn": [["mrn"], ["patient", "mrn"], ["pt", "mrn"], ["medical", "record", "number"], ["mrn", "id"], ["chart", "no"], ["patient", "mrn"]],
    "ssn": [["ssn"], ["patient", "ssn"], ["social", "security", "number"], ["ssn", "last"], ["tax", "id"]],
    "first": [["first", "name"], ["given", "name"], ["fname"], ["patient", "first", "name"], ["first"]],
    "last": [["last", "name"], ["family", "name"], ["surname"], ["lname"], ["patient", "last", "name"]],
    "name": [["name"], ["patient", "name"], ["full", "name"], ["member", "name"], ["display", "name"], ["cardholder", "name"]],
    "dob": [["dob"], ["birth", "date"], ["date", "of", "birth"], ["patient", "dob"], ["birthdate"]],
    "email": [["email"], ["user", "email"], ["email", "address"], ["to"], ["recipient"], ["login"]],
    "phone": [["phone"], ["mobile"], ["cell"], ["phone", "number"], ["to", "number"], ["callback"], ["tel"], ["sms", "to"]],
    "ip": [["ip"], ["client", "ip"], ["remote", "addr"], ["src", "ip"], ["x", "forwarded", "for"], ["peer"]],
    "member": [["member", "id"], ["subscriber", "id"], ["policy", "number"], ["insurance", "id"], ["mbi"], ["medicaid", "id"]],
    "npi": [["npi"], ["provider", "npi"], ["prescriber", "npi"], ["attending", "npi"], ["rendering", "npi"]],
    "dl": [["dl"], ["drivers", "license"], ["license", "no"], ["dl", "number"], ["owner", "dl"]],
    "device": [["dev"], ["device", "serial"], ["serial"], ["device", "id"], ["udi"], ["serial", "number"]],
    "account": [["account"], ["acct"], ["account", "number"], ["acct", "no"], ["billing", "account"]],
    "routing": [["routing"], ["routing", "number"], ["aba"]],
    "password": [["password"], ["passwd"], ["pwd"], ["db", "password"], ["client", "secret"], ["secret"]],
    "token": [["token"], ["access", "token"], ["api", "key"], ["auth", "token"], ["session", "id"], ["csrf", "token"], ["refresh", "token"], ["apikey"]],
    "address": [["address"], ["street"], ["address", "line1"], ["addr"], ["home", "address"]],
    "zip": [["zip"], ["postal", "code"], ["zip", "code"]],
    "mac": [["mac"], ["mac", "address"], ["hw", "addr"], ["bssid"]],
    "appt": [["appt", "date"], ["appointment", "date"], ["visit", "date"], ["scheduled", "for"]],
    "age": [["age"], ["patient", "age"], ["age", "years"]],
    "comment": [["note"], ["comment"], ["reason"], ["description"], ["free", "text"], ["message", "body"]],
}

# Keys of values that are not PHI, with value makers: the negatives.
NEG_KEYS = [
    (["request", "id"], v.uuid4), (["trace", "id"], lambda: v.sha(32)), (["span", "id"], lambda: v.sha(16)),
    (["order", "id"], lambda: v.digits(R.randint(6, 10))), (["amount"], lambda: f"{R.randint(1, 9999)}.{v.digits(2)}"),
    (["status"], lambda: R.choice(["200", "201", "404", "ok", "active", "pending"])), (["duration", "ms"], lambda: str(R.randint(1, 9000))),
    (["version"], v.version), (["icd10"], lambda: R.choice(v.ICD10)), (["cpt"], lambda: R.choice(v.CPT)), (["ndc"], v.ndc),
    (["quantity"], lambda: str(R.randint(1, 500))), (["retry"], lambda: str(R.randint(0, 5))), (["bytes"], lambda: str(R.randint(100, 10**7))),
    (["tenant"], lambda: R.choice(["acme", "northside", "t_7731"])), (["commit"], lambda: v.sha(40)), (["job", "id"], lambda: v.digits(7)),
    (["port"], lambda: str(R.randint(1024, 65535))), (["pid"], lambda: str(R.randint(100, 40000))), (["count"], lambda: str(R.randint(0, 10**5))),
    (["user", "id"], lambda: str(R.randint(1, 99999))), (["encounter", "id"], lambda: v.digits(9)), (["claim", "id"], lambda: "CLM" + v.digits(9)),
    (["drg"], lambda: str(R.randint(1, 999))), (["timestamp"], lambda: v.event_time()[0].isoformat(timespec="seconds") + "Z"),
    (["created", "at"], lambda: v.event_time()[0].isoformat(timespec="milliseconds")), (["ts"], lambda: str(1700000000 + R.randint(0, 10**7))),
]


def phi_field(kind, r):
    """(key words, gold piece, is_number) for a kind of PHI value."""
    if kind == "mrn":
        return R.choice(KEYS[kind]), P("MRN", r.mrn)
    if kind == "ssn":
        return R.choice(KEYS[kind][:4]), P("SSN", v.ssn())
    if kind == "first":
        return R.choice(KEYS[kind]), P("PERSON", r.pt.first)
    if kind == "last":
        return R.choice(KEYS[kind]), P("PERSON", r.pt.last)
    if kind == "name":
        return R.choice(KEYS[kind]), P("PERSON", r.pt.full())
    if kind == "dob":
        return R.choice(KEYS[kind]), v.dob_piece(R.choice(["iso", "iso", "us", "compact"]))
    if kind == "email":
        return R.choice(KEYS[kind]), P("EMAIL", r.email)
    if kind == "phone":
        return R.choice(KEYS[kind]), P("PHONE", v.phone(R.choice(["e164", "e164", "plain", "dash", "paren"])))
    if kind == "ip":
        return R.choice(KEYS[kind]), P("IP_ADDRESS", v.ipv4() if R.random() < 0.85 else v.ipv6())
    if kind == "member":
        return R.choice(KEYS[kind]), P("HEALTH_PLAN_ID", r.member)
    if kind == "npi":
        return R.choice(KEYS[kind]), P("NPI", r.npi)
    if kind == "dl":
        return R.choice(KEYS[kind]), P("DRIVER_LICENSE", r.dl.replace(" ", ""))
    if kind == "device":
        return R.choice(KEYS[kind]), P("DEVICE_ID", r.device)
    if kind == "account":
        if R.random() < 0.25:
            return ["iban"], P("IBAN", r.iban.replace(" ", ""))
        return R.choice(KEYS[kind]), P("ACCOUNT_NUMBER", r.account)
    if kind == "routing":
        return R.choice(KEYS[kind]), P("ACCOUNT_NUMBER", r.routing)
    if kind == "password":
        return R.choice(KEYS[kind]), P("SECRET", v.password())
    if kind == "token":
        k = R.choice(KEYS[kind])
        return k, P("SECRET", v.session_token() if k[0] in ("session", "csrf") else R.choice([v.api_token(), v.session_token(), v.jwt()]))
    if kind == "address":
        return R.choice(KEYS[kind]), P("STREET_ADDRESS", r.addr.street)
    if kind == "zip":
        return R.choice(KEYS[kind]), P("ZIP_CODE", r.addr.zip)
    if kind == "mac":
        return R.choice(KEYS[kind]), P("MAC_ADDRESS", r.mac)
    if kind == "appt":
        return R.choice(KEYS[kind]), v.date_piece(v.recent_date(), R.choice(["iso", "us"]))
    if kind == "age":
        return R.choice(KEYS[kind]), P("AGE", str(v.age_over_89()))
    if kind == "comment":
        # Free text that quotes what someone said or wrote: the quotes are
        # escaped wherever the format quotes the value.
        return R.choice(KEYS[kind]), R.choice([
            ['pt said "call me at ', P("PHONE", v.phone()), ' after 5"'],
            ['caller "', P("PERSON", r.pt.full()), '" asked about refill'],
            ['portal msg: "my new address is ', P("STREET_ADDRESS", r.addr.street), '"'],
            ['"', P("PERSON", r.pt.first), '" no-show, rescheduled'],
            ['wrote "dob ', v.dob_piece("us"), ' not ', v.date_piece(v.recent_date(), "us"), '"'],
        ])
    raise ValueError(kind)


def val_text(val):
    """The text of a field value: a string, a piece or a list of pieces."""
    if isinstance(val, list):
        return "".join(val_text(x) for x in val)
    return str(val)


def escaped(val, quote='"'):
    """`val` with backslashes and `quote` escaped, as logfmt, JSON and Ruby
    write a quoted value."""
    if isinstance(val, list):
        return [escaped(x, quote) for x in val]
    if isinstance(val, P):
        return P(val.ent, *[escaped(x, quote) for x in val.parts])
    return val.replace("\\", "\\\\").replace(quote, "\\" + quote)


def neg_field():
    words, make = R.choice(NEG_KEYS)
    return words, make()


# Events: a message and the kinds of fields it carries.
EVENTS = [
    ("patient lookup", ["mrn"], ["request_id"]),
    ("patient record updated", ["mrn", "last", "dob"], []),
    ("registration created", ["first", "last", "dob", "phone"], []),
    ("eligibility check", ["member", "dob"], ["status"]),
    ("user login", ["email", "ip"], ["status"]),
    ("sms reminder queued", ["phone", "appt"], ["job_id"]),
    ("prescription transmitted", ["npi", "name"], ["ndc"]),
    ("identity verification", ["dl"], ["status"]),
    ("device registered", ["device", "mac"], []),
    ("payment posted", ["account", "routing"], ["amount"]),
    ("address changed", ["address", "zip"], []),
    ("db connection opened", ["password"], ["port"]),
    ("auth token issued", ["token"], ["user_id"]),
    ("ssn verification failed", ["ssn", "last"], []),
    ("geo lookup", ["ip"], []),
    ("patient demographics", ["name", "age"], []),
    ("welcome email sent", ["email", "first"], []),
    ("referral received", ["npi", "mrn", "last"], ["icd10"]),
    ("patient message received", ["mrn", "comment"], []),
    ("call logged", ["comment"], ["status"]),
]

QUIET = [
    "health check ok", "cache miss, loading from db", "job completed", "request completed", "scheduled task started",
    "connection pool resized", "metrics flushed", "retrying after timeout", "feature flag evaluated", "GC pause",
    "consumer rebalanced", "slow query", "config reloaded", "listening", "shutdown requested", "queue drained",
]


def render_fields(fields, style):
    """Fields (key words, piece or str) rendered as one structured blob."""
    keystyle = {"json": R.choice(["snake", "camel"]), "ruby": "snake", "pyrepr": "snake", "java": "camel", "go": "pascal", "node": "camel"}.get(style)
    out = []
    pairs = [(key_style(k, keystyle), val) for k, val in fields]
    if style == "logfmt":
        for i, (k, val) in enumerate(pairs):
            s = val_text(val)
            q = " " in s or '"' in s or "=" in s
            out += [" " if i else "", k, "=", '"' if q else "", escaped(val) if q else val, '"' if q else ""]
    elif style == "pipe":
        for i, (k, val) in enumerate(pairs):
            out += ["|" if i else "", k, "=", val]
    elif style == "colon":
        for i, (k, val) in enumerate(pairs):
            out += [", " if i else "", k, ": ", val]
    elif style == "json":
        out.append("{")
        for i, (k, val) in enumerate(pairs):
            s = val_text(val)
            num = s.isdigit() and not s.startswith("0") and len(s) < 16 and R.random() < 0.5
            out += [", " if i and R.random() < 0.5 else ("," if i else ""), json.dumps(k), ":", "" if num else '"', escaped(val), "" if num else '"']
        out.append("}")
    elif style == "pyrepr":
        out.append("{")
        for i, (k, val) in enumerate(pairs):
            out += [", " if i else "", repr(k), ": '", val, "'"]
        out.append("}")
    elif style == "ruby":
        out.append("{")
        for i, (k, val) in enumerate(pairs):
            out += [", " if i else "", json.dumps(k), "=>", '"', escaped(val), '"']
        out.append("}")
    elif style == "java":
        out.append(R.choice(["Patient", "PatientDTO", "Member", "Request"]) + "{")
        for i, (k, val) in enumerate(pairs):
            s = val_text(val)
            quoted = not s.replace("-", "").isdigit()
            out += [", " if i else "", k, "=", "'" if quoted else "", val, "'" if quoted else ""]
        out.append("}")
    elif style == "go":
        out.append("&{")
        for i, (k, val) in enumerate(pairs):
            out += [" " if i else "", k, ":", val]
        out.append("}")
    elif style == "node":
        out.append("{ ")
        for i, (k, val) in enumerate(pairs):
            out += [", " if i else "", k, ": '", val, "'"]
        out.append(" }")
    elif style == "query":
        out.append(R.choice(["/api/v1/patients/search", "/portal/lookup", "/fhir/Patient", "/members/verify", "/ehr/chart"]) + "?")
        encode = R.random() < 0.5
        for i, (k, val) in enumerate(pairs):
            out += ["&" if i else "", k, "=", url_encoded(val) if encode else val]
    return out


def url_encoded(val):
    """A query-string value as browsers send it: spaces, @ and + escaped."""
    def enc(t):
        return t.replace("%", "%25").replace("+", "%2B").replace("@", "%40").replace(" ", "%20")
    if isinstance(val, list):
        return [url_encoded(x) for x in val]
    if isinstance(val, P):
        return P(val.ent, enc(val.text()))
    return enc(str(val))


def event_message(r, style):
    """One event: its message and fields rendered in `style`."""
    msg, kinds, negs = R.choice(EVENTS)
    fields = [phi_field(k, r) for k in kinds]
    for n in negs:
        fields.append(neg_field())
    for _ in range(R.randint(0, 2)):
        fields.insert(R.randint(0, len(fields)), neg_field())
    if style == "query":
        fields = [(k, P(val.ent, str(val)) if isinstance(val, P) else val) for k, val in fields]
    return msg, fields


def ts_text(fmt, t):
    if fmt == "iso_z":
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    if fmt == "py":
        return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"
    if fmt == "apache":
        return t.strftime("%d/%b/%Y:%H:%M:%S +0000")
    if fmt == "apache_err":
        return t.strftime("%a %b %d %H:%M:%S.") + f"{t.microsecond:06d} " + t.strftime("%Y")
    if fmt == "syslog":
        return t.strftime("%b ") + f"{t.day:2d}" + t.strftime(" %H:%M:%S")
    if fmt == "klog":
        return t.strftime("%m%d %H:%M:%S.") + f"{t.microsecond:06d}"
    if fmt == "space":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "pg":
        return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"
    if fmt == "time":
        return t.strftime("%H:%M:%S")
    if fmt == "epoch":
        return f"{t.timestamp():.3f}"
    if fmt == "epoch_ms":
        return str(int(t.timestamp() * 1000))
    if fmt == "micro":
        return t.isoformat() + "Z"
    raise ValueError(fmt)


LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]


def quiet_fields():
    return [neg_field() for _ in range(R.randint(1, 3))]


class LogFormat:
    """A log line layout: how prefix, message and fields are written."""

    def __init__(self, name, line, styles):
        self.name = name
        self.line = line  # (d, t, level, msg, fields, style) -> None
        self.styles = styles


def _fields_pieces(fields, style):
    return render_fields(fields, style)


def fmt_python(d, t, lvl, msg, fields, style):
    d.add(ts_text("py", t), " ", lvl, " ", R.choice(["app.views", "ehr.api.patients", "worker.tasks", "root"]), ": ", msg, " ", _fields_pieces(fields, style), "\n")


def fmt_celery(d, t, lvl, msg, fields, style):
    d.add("[", ts_text("py", t), f": {lvl}/ForkPoolWorker-{R.randint(1, 8)}] Task ehr.tasks.{msg.replace(' ', '_')}[{v.uuid4()}] ", _fields_pieces(fields, style), "\n")


def fmt_apache_error(d, t, lvl, msg, fields, style):
    d.add("[", ts_text("apache_err", t), f"] [php:{lvl.lower()}] [pid {R.randint(100, 30000)}] [client ", P("IP_ADDRESS", v.ipv4()), f":{R.randint(1024, 65000)}] PHP Notice:  {msg} ", _fields_pieces(fields, style), "\n")


def fmt_access(d, t, lvl, msg, fields, style):
    d.add(P("IP_ADDRESS", v.ipv4()), " - ", R.choice(["-", "-", "jsmith", "svc_portal"]), " [", ts_text("apache", t), '] "', R.choice(["GET", "GET", "POST"]), " ", _fields_pieces(fields, "query"), ' HTTP/1.1" ', R.choice(["200", "200", "302", "404", "500"]), " ", str(R.randint(200, 90000)), ' "-" "', R.choice(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", "curl/8.4.0", "okhttp/4.12.0"]), '"\n')


def fmt_log4j(d, t, lvl, msg, fields, style):
    d.add(ts_text("space", t), f".{R.randint(0, 999):03d} {lvl:5s} [http-nio-8080-exec-{R.randint(1, 20)}] c.e.ehr.{R.choice(['PatientService', 'ClaimsController', 'AuthFilter'])} - {msg}: ", _fields_pieces(fields, "java"), "\n")


def fmt_rails(d, t, lvl, msg, fields, style):
    d.add(f"I, [{t.isoformat()} #{R.randint(100, 9999)}]  {lvl} -- : [{v.uuid4()}]   Parameters: ", _fields_pieces(fields, "ruby"), "\n")


def fmt_django(d, t, lvl, msg, fields, style):
    d.add("[", t.strftime("%d/%b/%Y %H:%M:%S"), "] ", lvl, " ", msg, " ", _fields_pieces(fields, "pyrepr"), "\n")


def fmt_zap(d, t, lvl, msg, fields, style):
    d.add('{"level":"', lvl.lower(), '","ts":', ts_text("epoch", t), ',"caller":"api/handler.go:', str(R.randint(20, 400)), '","msg":"', msg, '"')
    blob = _fields_pieces(fields, "json")
    d.add(",", blob[1:], "\n")


def fmt_pino(d, t, lvl, msg, fields, style):
    d.add('{"level":', str({"INFO": 30, "DEBUG": 20, "WARN": 40, "ERROR": 50}[lvl]), ',"time":', ts_text("epoch_ms", t), ',"pid":', str(R.randint(1, 999)), ',"hostname":"api-', v.sha(5), '",')
    blob = _fields_pieces(fields, "json")
    d.add(blob[1:-1], ',"msg":"', msg, '"}\n')


def fmt_structlog(d, t, lvl, msg, fields, style):
    d.add(ts_text("space", t), " [", f"{lvl.lower():9s}", "] ", f"{msg.replace(' ', '_'):30s} ", _fields_pieces(fields, "logfmt"), "\n")


def fmt_logfmt(d, t, lvl, msg, fields, style):
    d.add("time=", t.isoformat(timespec="seconds"), "Z level=", lvl.lower(), ' msg="', msg, '" ', _fields_pieces(fields, "logfmt"), "\n")


def fmt_syslog(d, t, lvl, msg, fields, style):
    host = R.choice(["ehr-app01", "web-2", "int-engine", "db-primary"])
    d.add(ts_text("syslog", t), " ", host, " ", R.choice(["ehr-api", "mirth", "nginx", "cron"]), f"[{R.randint(100, 40000)}]: ", msg, " ", _fields_pieces(fields, style), "\n")


def fmt_rfc5424(d, t, lvl, msg, fields, style):
    d.add(f"<{R.randint(130, 190)}>1 ", ts_text("iso_z", t), " ", R.choice(["app01", "k8s-node-3"]), " ehr ", str(R.randint(100, 9999)), " ID", str(R.randint(1, 99)), " - ", msg, " ", _fields_pieces(fields, style), "\n")


def fmt_klog(d, t, lvl, msg, fields, style):
    d.add(lvl[0], ts_text("klog", t), f"       1 {R.choice(['controller.go', 'sync.go', 'handler.go'])}:{R.randint(10, 900)}] \"{msg}\" ", _fields_pieces(fields, "logfmt"), "\n")


def fmt_docker(d, t, lvl, msg, fields, style):
    inner = []
    inner += [f"{lvl} {msg} "] + _fields_pieces(fields, "logfmt")
    # JSON-escape the inner pieces' text without breaking labels.
    d.add('{"log":"')
    for p in inner:
        if isinstance(p, str):
            d.add(json.dumps(p)[1:-1])
        else:
            d.add(p)
    d.add('\\n","stream":"', R.choice(["stdout", "stderr"]), '","time":"', ts_text("micro", t), '"}\n')


def fmt_postgres(d, t, lvl, msg, fields, style):
    pre = f"{ts_text('pg', t)} [{R.randint(100, 99999)}] {R.choice(['clinic', 'ehr_app', 'postgres'])}@ehr "
    k, val = R.choice(fields)
    col = key_style(k, "snake")
    r = R.random()
    if r < 0.4:
        d.add(pre, "LOG:  statement: SELECT * FROM patients WHERE ", col, " = '", val, "';\n")
    elif r < 0.7:
        d.add(pre, "ERROR:  duplicate key value violates unique constraint \"patients_", col, "_key\"\n")
        d.add(pre, "DETAIL:  Key (", col, ")=(", val, ") already exists.\n")
    else:
        d.add(pre, "LOG:  duration: ", f"{R.randint(1, 9000)}.{v.digits(3)}", " ms  execute <unnamed>: UPDATE patients SET ", col, " = $1 WHERE id = $2\n")
        d.add(pre, "DETAIL:  parameters: $1 = '", val, "', $2 = '", str(R.randint(1, 99999)), "'\n")


def fmt_audit_pipe(d, t, lvl, msg, fields, style):
    d.add(ts_text("iso_z", t), "|user=", R.choice(["jdoe", "svc_hl7", "nurse.k", "admin"]), "|action=", R.choice(["VIEW", "EXPORT", "PRINT", "UPDATE"]), "|", _fields_pieces(fields, "pipe"), "\n")


def fmt_tracing(d, t, lvl, msg, fields, style):
    d.add(ts_text("micro", t), f"  {lvl:5s} request{{method={R.choice(['GET', 'POST'])} uri=/api/patients}}: ehr::api: {msg} ", _fields_pieces(fields, "logfmt"), "\n")


def fmt_tracing_json(d, t, lvl, msg, fields, style):
    d.add('{"timestamp":"', ts_text("micro", t), '","level":"', lvl, '","fields":')
    blob = _fields_pieces([(["message"], msg)] + fields, "json")
    d.add(blob, ',"target":"ehr::api"}\n')


def fmt_node(d, t, lvl, msg, fields, style):
    d.add(f"{msg} ", _fields_pieces(fields, "node"), "\n")


def fmt_go_struct(d, t, lvl, msg, fields, style):
    d.add(t.strftime("%Y/%m/%d %H:%M:%S"), " ", msg, ": ", _fields_pieces(fields, "go"), "\n")


def fmt_laravel(d, t, lvl, msg, fields, style):
    d.add("[", ts_text("space", t), "] production.", lvl, ": ", msg, " ", _fields_pieces(fields, "json"), "\n")


def fmt_serilog(d, t, lvl, msg, fields, style):
    d.add("[", ts_text("time", t), " ", {"INFO": "INF", "DEBUG": "DBG", "WARN": "WRN", "ERROR": "ERR"}[lvl], "] ", msg, " ", _fields_pieces(fields, "json"), "\n")


def fmt_haproxy(d, t, lvl, msg, fields, style):
    d.add(ts_text("syslog", t), " lb1 haproxy[", str(R.randint(100, 9999)), "]: ", P("IP_ADDRESS", v.ipv4()), f":{R.randint(1024, 65000)} [", t.strftime("%d/%b/%Y:%H:%M:%S.") + f"{R.randint(0, 999):03d}", "] fe be/srv1 0/0/1/12/13 200 ", str(R.randint(100, 9000)), ' - - ---- 1/1/0/0/0 0/0 "GET ', _fields_pieces(fields, "query"), ' HTTP/1.1"\n')


def fmt_cloudwatch(d, t, lvl, msg, fields, style):
    d.add(ts_text("iso_z", t), "\t", v.uuid4(), "\t", lvl, "\t", msg, " ", _fields_pieces(fields, "json"), "\n")


def fmt_kv_colon(d, t, lvl, msg, fields, style):
    d.add(ts_text("space", t), " - ", lvl, " - ", msg, " - ", _fields_pieces(fields, "colon"), "\n")


def fmt_windows(d, t, lvl, msg, fields, style):
    d.add(t.strftime("%m/%d/%Y %I:%M:%S %p"), " Security 4624 An account was successfully logged on. Account Name: ", R.choice(["jsmith", "kpatel", "svc_backup"]), " Source Network Address: ", P("IP_ADDRESS", v.ipv4()), " ", _fields_pieces(fields, "colon"), "\n")


def fmt_mysql(d, t, lvl, msg, fields, style):
    k, val = R.choice(fields)
    d.add("# Time: ", ts_text("micro", t), "\n# User@Host: ehr[ehr] @  [", P("IP_ADDRESS", v.ipv4(True)), "]\n# Query_time: ", f"{R.randint(1, 30)}.{v.digits(6)}", "  Rows_sent: 1\n")
    d.add("SELECT id FROM patients WHERE ", key_style(k, "snake"), " = '", val, "';\n")


def fmt_graphql(d, t, lvl, msg, fields, style):
    d.add(ts_text("iso_z", t), " ", lvl, " graphql operation=", R.choice(["UpdatePatient", "SearchMembers", "CreateAppointment"]), " variables=", _fields_pieces(fields, "json"), "\n")


def fmt_sms_webhook(d, t, lvl, msg, fields, style):
    r = Record()
    d.add(ts_text("iso_z", t), " ", lvl, " twilio webhook MessageSid=SM", v.sha(32), " From=", P("PHONE", v.phone("e164")), " To=", P("PHONE", v.phone("e164")), ' Body="', R.choice(["STOP", "Yes confirm", "C"]), '"\n')


def fmt_envoy(d, t, lvl, msg, fields, style):
    d.add('{"start_time":"', ts_text("iso_z", t), '","method":"GET","path":"', _fields_pieces(fields, "query"), '","response_code":', str(R.choice([200, 404, 500])), ',"downstream_remote_address":"', P("IP_ADDRESS", v.ipv4()), f":{R.randint(1024, 65000)}", '","x_request_id":"', v.uuid4(), '"}\n')


FORMATS = [
    LogFormat("python", fmt_python, ["logfmt", "pyrepr", "colon"]), LogFormat("celery", fmt_celery, ["pyrepr", "logfmt"]),
    LogFormat("apache_error", fmt_apache_error, ["logfmt", "colon"]), LogFormat("access", fmt_access, ["query"]),
    LogFormat("log4j", fmt_log4j, ["java"]), LogFormat("rails", fmt_rails, ["ruby"]), LogFormat("django", fmt_django, ["pyrepr"]),
    LogFormat("zap", fmt_zap, ["json"]), LogFormat("pino", fmt_pino, ["json"]), LogFormat("structlog", fmt_structlog, ["logfmt"]),
    LogFormat("logfmt", fmt_logfmt, ["logfmt"]), LogFormat("syslog", fmt_syslog, ["logfmt", "colon"]),
    LogFormat("rfc5424", fmt_rfc5424, ["logfmt", "json"]), LogFormat("klog", fmt_klog, ["logfmt"]), LogFormat("docker", fmt_docker, ["logfmt"]),
    LogFormat("postgres", fmt_postgres, ["logfmt"]), LogFormat("audit_pipe", fmt_audit_pipe, ["pipe"]), LogFormat("tracing", fmt_tracing, ["logfmt"]),
    LogFormat("tracing_json", fmt_tracing_json, ["json"]), LogFormat("node", fmt_node, ["node"]), LogFormat("go_struct", fmt_go_struct, ["go"]),
    LogFormat("laravel", fmt_laravel, ["json"]), LogFormat("serilog", fmt_serilog, ["json"]), LogFormat("haproxy", fmt_haproxy, ["query"]),
    LogFormat("cloudwatch", fmt_cloudwatch, ["json"]), LogFormat("kv_colon", fmt_kv_colon, ["colon"]), LogFormat("windows", fmt_windows, ["colon"]),
    LogFormat("mysql_slow", fmt_mysql, ["logfmt"]), LogFormat("graphql", fmt_graphql, ["json"]), LogFormat("sms_webhook", fmt_sms_webhook, ["logfmt"]),
    LogFormat("envoy", fmt_envoy, ["query"]),
]


def free_text_line(d, r, t):
    """A sentence-style message: what developers write in f-strings."""
    s = R.random()
    ts = ts_text("iso_z", t) + " " + R.choice(LEVELS) + " "
    if s < 0.1:
        d.add(ts, "lookup failed for patient ", r.name(), " (", P("MRN", r.mrn), ")\n")
    elif s < 0.2:
        d.add(ts, "sending appointment reminder to ", P("PHONE", v.phone()), " for visit on ", v.date_piece(v.recent_date(), R.choice(["us", "iso", "mon_dd_yyyy"])), "\n")
    elif s < 0.3:
        d.add(ts, "connecting to ", R.choice(["postgres", "postgresql", "mysql", "mongodb"]), "://", R.choice(["ehr_app", "svc", "admin"]), ":", P("SECRET", v.password()), "@", R.choice(["db.internal", "10.0.3.12", "ehr-db.prod.local"]), ":5432/ehr\n")
    elif s < 0.4:
        d.add(ts, "AWS credentials loaded: key ", P("SECRET", v.aws_key_id()), R.choice([" secret ", " secretAccessKey=", " aws_secret_access_key="]), P("SECRET", v.aws_secret()), "\n")
    elif s < 0.5:
        d.add(ts, R.choice(["Authorization: Bearer ", "auth header Bearer ", "token="]), P("SECRET", R.choice([v.jwt(), v.api_token()])), "\n")
    elif s < 0.58:
        d.add(ts, "Traceback (most recent call last):\n  File \"/app/ehr/validators.py\", line ", str(R.randint(10, 300)), ", in check_ssn\n    raise ValueError(f\"invalid ssn {value} for {email}\")\nValueError: invalid ssn ", P("SSN", v.ssn("dash")), " for ", P("EMAIL", r.email), "\n")
    elif s < 0.66:
        d.add(ts, "type=DL state=", r.dl_state, " number=", P("DRIVER_LICENSE", r.dl.replace(" ", "")), " verified\n")
    elif s < 0.74:
        d.add(ts, "dev=", P("DEVICE_ID", r.device), " imei=", P("DEVICE_ID", r.imei), " checked in from ", P("IP_ADDRESS", v.ipv4()), "\n")
    elif s < 0.8:
        d.add(ts, "dob = datetime.date(", [P("DATE", f"{r.dob.year}, {r.dob.month}, {r.dob.day}")], ")\n")
    elif s < 0.86:
        d.add(ts, "MRN ", "." * R.randint(5, 20), " ", P("MRN", r.mrn), "\n")
    elif s < 0.9:
        d.add(ts, "password reset link sent to ", P("EMAIL", r.email), ": ", P("URL", f"https://portal.example.org/reset?token=", P("SECRET", v.session_token())), "\n")
    elif s < 0.93:
        host = R.choice(["https://portal.example.org", "https://ehr.stmarys-health.org", "http://10.12.4.7:8080", "https://api.example.com/v2"])
        d.add(ts, R.choice(["GET ", "fetching ", "redirect to ", "callback "]),
              P("URL", host, R.choice(["/patients/", "/chart/", "/Patient/"]), P("MRN", r.mrn),
                R.choice(["?dob=", "/summary?birthdate="]), v.dob_piece("iso"), "&email=", url_encoded(P("EMAIL", r.email))), "\n")
    else:
        d.add(ts, "patient ", P("PERSON", r.pt.full()), ", ", r.age_piece(), ", admitted ", v.date_piece(r.admit), "\n")


def make(d_factory):
    fmt = R.choice(FORMATS)
    d = d_factory("log", fmt.name)
    t = v.event_time()[0]
    import datetime
    style = R.choice(fmt.styles)
    for _ in range(R.randint(8, 30)):
        t = t + datetime.timedelta(milliseconds=R.randint(1, 90000))
        r = Record()
        x = R.random()
        lvl = R.choice(LEVELS)
        if x < 0.45:
            msg = R.choice(QUIET)
            fmt.line(d, t, lvl, msg, quiet_fields(), style)
        elif x < 0.9:
            msg, fields = event_message(r, style)
            fmt.line(d, t, lvl, msg, fields, style)
        else:
            free_text_line(d, r, t)
    return d

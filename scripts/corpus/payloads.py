"""JSON as APIs, FHIR servers and event pipelines write it."""

import json

from . import values as v
from .doc import P
from .logs import key_style
from .record import Record

R = v.R


class Num:
    """A JSON number leaf whose digits are gold (an SSN sent as a number)."""

    def __init__(self, ent, text):
        self.ent = ent
        self.text = text


def emit(d, obj, indent=None, level=0):
    """Writes `obj` as JSON; `P` leaves are labelled strings."""
    nl = "" if indent is None else "\n"
    pad = "" if indent is None else " " * (indent * (level + 1))
    end_pad = "" if indent is None else " " * (indent * level)
    colon = ": " if indent is not None or R.random() < 0.5 else ":"
    comma = "," if indent is not None else R.choice([",", ", "])
    if isinstance(obj, dict):
        if not obj:
            d.add("{}")
            return
        d.add("{", nl)
        for i, (k, val) in enumerate(obj.items()):
            d.add(comma + nl if i else "", pad, json.dumps(k, ensure_ascii=False), colon)
            emit(d, val, indent, level + 1)
        d.add(nl, end_pad, "}")
    elif isinstance(obj, list):
        if not obj:
            d.add("[]")
            return
        d.add("[", nl)
        for i, val in enumerate(obj):
            d.add(comma + nl if i else "", pad)
            emit(d, val, indent, level + 1)
        d.add(nl, end_pad, "]")
    elif isinstance(obj, P):
        d.add('"', P(obj.ent, json.dumps(obj.text(), ensure_ascii=False)[1:-1]), '"')
    elif isinstance(obj, Num):
        d.add(P(obj.ent, obj.text))
    else:
        d.add(json.dumps(obj, ensure_ascii=False))


def fhir_patient(r):
    ident = [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
              "system": "urn:oid:1.2.36.146.595.217.0.1", "value": P("MRN", r.mrn)}]
    if R.random() < 0.6:
        ident.append({"system": "http://hl7.org/fhir/sid/us-ssn", "value": P("SSN", r.ssn.replace("-", ""))})
    if R.random() < 0.4:
        ident.append({"system": "http://hl7.org/fhir/sid/us-mbi", "value": P("HEALTH_PLAN_ID", r.mbi)})
    if R.random() < 0.3:
        ident.append({"system": "urn:oid:2.16.840.1.113883.4.3." + str(R.randint(1, 56)), "value": P("DRIVER_LICENSE", r.dl.replace(" ", ""))})
    given = [P("PERSON", r.pt.first)] + ([P("PERSON", r.pt.middle)] if R.random() < 0.3 else [])
    return {
        "resourceType": "Patient", "id": v.uuid4() if R.random() < 0.5 else str(R.randint(1000, 99999)),
        "meta": {"versionId": str(R.randint(1, 9)), "lastUpdated": v.event_time()[0].isoformat(timespec="milliseconds") + "Z"},
        "identifier": ident, "active": True,
        "name": [{"use": "official", "family": P("PERSON", r.pt.last), "given": given}],
        "telecom": [{"system": "phone", "value": P("PHONE", r.phone), "use": "home"}, {"system": "email", "value": P("EMAIL", r.email)}],
        "gender": {"F": "female", "M": "male"}[r.pt.sex],
        "birthDate": P("DATE", r.dob.isoformat()),
        "address": [{"use": "home", "line": [P("STREET_ADDRESS", r.addr.street)], "city": P("STREET_ADDRESS", r.addr.city), "state": r.addr.state, "postalCode": P("ZIP_CODE", r.addr.zip)}],
        "contact": [{"relationship": [{"text": r.kin_rel}], "name": {"family": P("PERSON", r.kin.last), "given": [P("PERSON", r.kin.first)]}, "telecom": [{"system": "phone", "value": P("PHONE", r.kin_phone)}]}],
        "generalPractitioner": [{"reference": "Practitioner/" + str(R.randint(100, 9999)), "display": P("PERSON", "Dr. " + r.doc.full())}],
    }


def fhir_bundle(r):
    enc = {"resourceType": "Encounter", "id": str(R.randint(1, 99999)), "status": "finished",
           "period": {"start": P("DATE", r.admit.isoformat() + "T08:15:00-05:00"), "end": P("DATE", r.discharge.isoformat())},
           "subject": {"reference": "Patient/" + str(R.randint(1, 9999)), "display": P("PERSON", r.pt.full())},
           "participant": [{"individual": {"display": P("PERSON", r.doc.full()), "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": P("NPI", r.npi)}}}]}
    cov = {"resourceType": "Coverage", "status": "active", "subscriberId": P("HEALTH_PLAN_ID", r.member), "payor": [{"display": r.insurer}]}
    obs = {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]},
           "effectiveDateTime": P("DATE", r.visit.isoformat()), "valueQuantity": {"value": R.randint(50, 120) / 10, "unit": "%"}}
    return {"resourceType": "Bundle", "type": "collection", "total": 4, "entry": [{"resource": x} for x in (fhir_patient(r), enc, cov, obs)]}


def api_payload(r):
    ks = R.choice(["snake", "camel"])
    k = lambda *w: key_style(list(w), ks)
    body = {
        k("patient"): {
            k("first", "name"): P("PERSON", r.pt.first), k("last", "name"): P("PERSON", r.pt.last),
            k("date", "of", "birth"): P("DATE", R.choice([r.dob.isoformat(), v.fmt_date(r.dob, "us")])),
            "ssn": Num("SSN", r.ssn.replace("-", "").lstrip("0") or "1") if R.random() < 0.3 else P("SSN", r.ssn),
            k("mrn"): P("MRN", r.mrn), k("phone", "number"): P("PHONE", r.phone), "email": P("EMAIL", r.email),
            "address": {k("line1"): P("STREET_ADDRESS", r.addr.street), "city": P("STREET_ADDRESS", r.addr.city), "state": r.addr.state, k("zip"): P("ZIP_CODE", r.addr.zip)},
        },
        k("insurance"): {k("member", "id"): P("HEALTH_PLAN_ID", r.member), k("group", "number"): r.group, "payer": r.insurer},
        k("order", "id"): R.randint(10**6, 10**9), k("request", "id"): v.uuid4(), "amount": R.randint(100, 99999) / 100, "status": R.choice(["pending", "submitted"]),
        k("icd10", "codes"): R.sample(v.ICD10, 2), k("created", "at"): v.event_time()[0].isoformat(timespec="seconds") + "Z",
    }
    if R.random() < 0.4:
        body[k("emergency", "contact")] = {"name": P("PERSON", r.kin.full()), "phone": P("PHONE", r.kin_phone), k("relationship"): r.kin_rel}
    if R.random() < 0.3:
        body[k("payment")] = {k("card", "number"): P("CREDIT_CARD", v.card("")), k("cardholder", "name"): P("PERSON", r.pt.full().upper()), "last4": "1111"}
    if R.random() < 0.3:
        body[k("provider")] = {"npi": Num("NPI", r.npi) if R.random() < 0.5 else P("NPI", r.npi), "name": P("PERSON", r.doc.full()), k("dea"): P("DEA_NUMBER", r.dea)}
    if R.random() < 0.2:
        body[k("client", "ip")] = P("IP_ADDRESS", v.ipv4())
        body[k("user", "agent")] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"
    return body


def webhook_event(r):
    return {"id": "evt_" + v.sha(24), "type": R.choice(["appointment.booked", "patient.updated", "message.sent"]),
            "created": 1700000000 + R.randint(0, 10**7),
            "data": {"object": {"patientName": P("PERSON", r.pt.full()), "appointmentDate": P("DATE", v.recent_date().isoformat()),
                                "mobile": P("PHONE", v.phone("e164")), "location": {"address": P("STREET_ADDRESS", r.addr.street)}, "notes": R.choice(["", "needs interpreter", "wheelchair"])}},
            "livemode": True}


def app_event(r):
    """One JSON line of an event pipeline."""
    t = v.event_time()[0]
    kind = R.random()
    base = {"ts": t.isoformat(timespec="milliseconds") + "Z", "level": R.choice(["info", "warn", "error"]), "service": R.choice(["intake-api", "billing", "scheduler"])}
    if kind < 0.3:
        base.update({"event": "patient.viewed", "user": P("EMAIL", v.email()), "mrn": P("MRN", r.mrn), "ip": P("IP_ADDRESS", v.ipv4())})
    elif kind < 0.5:
        base.update({"event": "claim.submitted", "memberId": P("HEALTH_PLAN_ID", r.member), "npi": P("NPI", r.npi), "amount": R.randint(10, 9000), "claimId": "CLM" + v.digits(9)})
    elif kind < 0.65:
        base.update({"event": "sms.sent", "to": P("PHONE", v.phone("e164")), "body": ["Reminder: ", P("PERSON", r.pt.first), ", your appointment is on ", v.date_piece(v.recent_date(), "us"), ". Reply C to confirm."]})
    elif kind < 0.8:
        base.update({"event": "http.request", "method": "GET", "path": ["/api/patients?last_name=", P("PERSON", r.pt.last), "&dob=", v.dob_piece("iso")], "status": 200, "duration_ms": R.randint(1, 900), "requestId": v.uuid4()})
    else:
        base.update({"event": "job.done", "count": R.randint(1, 10**5), "duration_ms": R.randint(1, 10**5), "commit": v.sha()})
    return base


def make_json(d_factory):
    kind = R.choice(["fhir_patient", "fhir_bundle", "api_payload", "api_payload", "webhook", "array"])
    d = d_factory("json", kind, "json", "json")
    r = Record()
    indent = R.choice([None, 2, 2, 4])
    if kind == "fhir_patient":
        obj = fhir_patient(r)
    elif kind == "fhir_bundle":
        obj = fhir_bundle(r)
    elif kind == "webhook":
        obj = webhook_event(r)
    elif kind == "array":
        obj = {"data": [next(iter(api_payload(Record()).values())) for _ in range(R.randint(2, 6))], "page": 1, "total": R.randint(2, 500)}
    else:
        obj = api_payload(r)
    emit_nested(d, obj, indent)
    d.add("\n")
    return d


def make_jsonl(d_factory):
    d = d_factory("json", "jsonl_events", "jsonl", "jsonl")
    for _ in range(R.randint(5, 25)):
        emit_nested(d, app_event(Record()), None)
        d.add("\n")
    return d


def emit_nested(d, obj, indent):
    """`emit`, where a string leaf may be a list of pieces (text around gold)."""
    if isinstance(obj, list) and obj and all(isinstance(x, (str, P)) for x in obj) and any(isinstance(x, P) for x in obj) and any(isinstance(x, str) for x in obj):
        d.add('"')
        for x in obj:
            if isinstance(x, str):
                d.add(json.dumps(x, ensure_ascii=False)[1:-1])
            else:
                d.add(P(x.ent, json.dumps(x.text(), ensure_ascii=False)[1:-1]))
        d.add('"')
        return
    if isinstance(obj, dict):
        nl = "" if indent is None else "\n"
        d.add("{", nl)
        for i, (k, val) in enumerate(obj.items()):
            d.add("," + nl if i else "", " " * (indent or 0), json.dumps(k, ensure_ascii=False), ": " if indent else ":")
            emit_nested(d, val, indent)
        d.add(nl, "}")
        return
    if isinstance(obj, list):
        d.add("[")
        for i, x in enumerate(obj):
            d.add(", " if i else "")
            emit_nested(d, x, indent)
        d.add("]")
        return
    emit(d, obj, None)

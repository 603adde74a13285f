"""HL7 v2 messages and DICOM headers, as interface engines and tools print them."""

import json

from . import values as v
from .doc import P
from .record import Record

R = v.R


def hl7_name(p, upper=True):
    f, l = (p.first.upper(), p.last.upper()) if upper else (p.first, p.last)
    return P("PERSON", R.choice([f"{l}^{f}^{p.middle}", f"{l}^{f}", f"{l}^{f}^{p.middle}^^^L", f"{l}^{f}^^^^"]))


def hl7_phone(num=None):
    area, ex, line = v.R.randint(201, 989), v.R.randint(200, 999), v.digits(4)
    st = R.random()
    if st < 0.4:
        return P("PHONE", f"({area}){ex}-{line}")
    if st < 0.7:
        return ["^PRN^PH^^1^", P("PHONE", f"{area}^{ex}{line}")]
    return P("PHONE", f"{area}{ex}{line}")


def hl7_addr(a):
    street = a.street.upper() if R.random() < 0.6 else a.street
    return [P("STREET_ADDRESS", street), "^^", P("STREET_ADDRESS", a.city.upper()), "^", a.state, "^", P("ZIP_CODE", a.zip_text()), "^USA^H"]


def hl7_ts(d=None, time=True):
    d = d or v.recent_date()
    s = f"{d.year}{d.month:02d}{d.day:02d}"
    return s + (f"{R.randint(0, 23):02d}{R.randint(0, 59):02d}" if time and R.random() < 0.7 else "")


def msh(kind):
    t = v.event_time()[0]
    return f"MSH|^~\\&|{R.choice(['EPIC', 'CERNER', 'MEDITECH', 'ATHENA'])}|{R.choice(['SMH', 'UH', 'NORTHSIDE'])}|{R.choice(['LAB', 'RIS', 'BILLING'])}|{R.choice(['HUB', 'MIRTH'])}|{t.strftime('%Y%m%d%H%M%S')}||{kind}|{v.digits(R.randint(6, 12))}|P|2.{R.choice(['3', '4', '5.1'])}"


def seg(name, fields):
    """A segment with `fields` {number: pieces} at their standard positions."""
    out = [name]
    for n in range(1, max(fields) + 1):
        out.append("|")
        val = fields.get(n)
        if val is None:
            continue
        out.extend(val if isinstance(val, list) else [val])
    return out


def xcn(p, ent_id, pid_num):
    """A clinician: ID^FAMILY^GIVEN^MIDDLE^^^^DEGREE."""
    return [P(ent_id, pid_num), "^", hl7_name(p), R.choice(["", "^^^^MD", "^^^MD"])]


def segments(r):
    """The segments of one message, as lists of pieces, fields where the
    standard puts them."""
    kind = R.choice(["ADT^A01", "ADT^A04", "ADT^A08", "ADT^A03", "ORU^R01", "SIU^S12", "DFT^P03", "ORM^O01", "VXU^V04"])
    segs = [[msh(kind)]]
    segs.append(seg("EVN", {1: kind[4:], 2: hl7_ts(None)}))
    ids = [P("MRN", r.mrn), "^^^", R.choice(["MRN", "SMH", "EPI"]), "^MR"]
    if R.random() < 0.4:
        ids += ["~", P("SSN", r.ssn.replace("-", "") if R.random() < 0.5 else r.ssn), "^^^SSA^SS"]
    pid = {1: "1", 3: ids, 5: hl7_name(r.pt, R.random() < 0.8), 7: P("DATE", f"{r.dob.year}{r.dob.month:02d}{r.dob.day:02d}"),
           8: r.pt.sex, 11: hl7_addr(r.addr), 13: hl7_phone(), 15: R.choice(["ENG", "SPA", ""]), 16: R.choice(["M", "S", "W", ""]),
           18: P("ACCOUNT_NUMBER", v.digits(R.randint(8, 10)))}
    if R.random() < 0.3:
        pid[6] = P("PERSON", r.kin.last.upper())
    if R.random() < 0.4:
        pid[14] = hl7_phone()
    if R.random() < 0.5:
        pid[19] = P("SSN", r.ssn)
    if R.random() < 0.2:
        pid[20] = P("DRIVER_LICENSE", r.dl.replace(" ", ""))
    segs.append(seg("PID", pid))
    if R.random() < 0.6:
        segs.append(seg("PD1", {3: R.choice(["SPRINGFIELD FAMILY MED", "NORTHSIDE CLINIC"]), 4: xcn(r.doc2, "NPI", r.npi2)}))
    if R.random() < 0.6:
        segs.append(seg("NK1", {1: "1", 2: hl7_name(r.kin), 3: R.choice(["SPO^Spouse", "DAU^Daughter", "SON^Son", "MTH^Mother"]),
                                4: hl7_addr(r.addr), 5: hl7_phone()}))
    pv1 = {1: "1", 2: R.choice(["I", "O", "E"]), 3: R.choice(["4W^412^B", "ED^^", "ICU^07^A"]), 7: xcn(r.doc, "NPI", r.npi),
           10: R.choice(["MED", "SUR", "CAR"]), 19: P("ACCOUNT_NUMBER", r.encounter), 44: P("DATE", hl7_ts(r.admit))}
    if kind == "ADT^A03":
        pv1[45] = P("DATE", hl7_ts(r.discharge))
    segs.append(seg("PV1", pv1))
    if kind.startswith("ADT") and R.random() < 0.5:
        segs.append(seg("GT1", {1: "1", 3: hl7_name(r.kin), 5: hl7_addr(r.addr), 6: hl7_phone(), 8: P("DATE", hl7_ts(v.birth_date(), False)),
                                11: R.choice(["SP", "PA"]), 12: P("SSN", v.ssn("plain"))}))
        segs.append(seg("IN1", {1: "1", 2: R.choice(["BCBS", "MCR", "AET"]) + "^" + r.insurer.upper(), 3: v.digits(5), 4: r.insurer.upper(),
                                8: r.group, 16: hl7_name(r.pt), 17: "SEL", 18: P("DATE", hl7_ts(r.dob, False)), 19: hl7_addr(r.addr),
                                36: P("HEALTH_PLAN_ID", r.member)}))
    if kind == "ORU^R01":
        segs.append(seg("ORC", {1: "RE", 2: v.digits(8), 3: v.digits(8), 5: "CM", 9: hl7_ts(), 12: xcn(r.doc, "NPI", r.npi)}))
        segs.append(seg("OBR", {1: "1", 2: v.digits(8), 3: v.digits(8), 4: R.choice(["80053^CMP", "85025^CBC", "83036^HBA1C"]),
                                7: P("DATE", hl7_ts(r.visit))}))
        for i in range(R.randint(2, 6)):
            segs.append([f"OBX|{i + 1}|NM|{R.choice(['2345-7^GLUCOSE', '2160-0^CREATININE', '718-7^HGB', '4548-4^HBA1C'])}^LN||{R.randint(1, 300)}|{R.choice(['mg/dL', 'g/dL', '%'])}|{R.randint(1, 99)}-{R.randint(100, 200)}|{R.choice(['N', 'H', 'L'])}|||F"])
    if kind == "SIU^S12":
        segs.append(seg("SCH", {1: v.digits(8), 6: R.choice(["ROUTINE", "FOLLOWUP"]), 9: "30", 10: "MIN",
                                11: ["^^^", P("DATE", hl7_ts(v.recent_date()))]}))
    if kind == "VXU^V04":
        segs.append(seg("RXA", {1: "0", 2: "1", 3: P("DATE", hl7_ts(r.visit)), 5: R.choice(["141^Influenza", "208^COVID-19", "115^Tdap"]),
                                6: "0.5", 7: "mL", 9: "00^New immunization record^NIP001", 10: xcn(r.doc, "NPI", r.npi)}))
    if kind == "DFT^P03":
        segs.append(seg("FT1", {1: "1", 4: P("DATE", hl7_ts(r.visit)), 6: "CG", 7: R.choice(v.CPT), 10: "1", 19: R.choice(v.ICD10)}))
    return segs


def render_message(d, segs, sep):
    for i, seg in enumerate(segs):
        if i:
            d.add(sep)
        d.add(seg)


def make_hl7(d_factory):
    style = R.choice(["file", "file", "mirth_log", "one_line_log", "json_string", "escaped_cr"])
    d = d_factory("hl7", "hl7_" + style)
    for _ in range(R.randint(1, 3)):
        r = Record()
        segs = segments(r)
        if style == "file":
            render_message(d, segs, "\r\n" if R.random() < 0.5 else "\n")
            d.add("\n")
        elif style == "mirth_log":
            t = v.event_time()[0]
            d.add(f" INFO {t.strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} [Channel: ADT_IN, Source: TCP Listener] Message received:\n")
            render_message(d, segs, "\n")
            d.add("\n")
        elif style == "one_line_log":
            t = v.event_time()[0]
            d.add(t.isoformat(timespec="milliseconds"), "Z INFO hl7.inbound msg=")
            render_message(d, segs, R.choice(["\\r", "<CR>", " | ", "\\x0d"]))
            d.add("\n")
        elif style == "escaped_cr":
            d.add("ACK not received, raw=")
            render_message(d, segs, "\\r")
            d.add("\n")
        else:
            d.add('{"channel":"ADT_IN","receivedAt":"', v.event_time()[0].isoformat(), 'Z","raw":"')
            # JSON-escape separators and the backslash of the MSH encoding characters.
            for i, seg in enumerate(segs):
                if i:
                    d.add("\\r")
                for p in seg:
                    if isinstance(p, str):
                        d.add(p.replace("\\", "\\\\"))
                    else:
                        d.add(p)
            d.add('"}\n')
    return d


DICOM_TAGS = [
    ("0008,0020", "DA", "StudyDate"), ("0008,0030", "TM", "StudyTime"), ("0008,0050", "SH", "AccessionNumber"),
    ("0008,0080", "LO", "InstitutionName"), ("0008,0090", "PN", "ReferringPhysicianName"), ("0010,0010", "PN", "PatientName"),
    ("0010,0020", "LO", "PatientID"), ("0010,0030", "DA", "PatientBirthDate"), ("0010,0040", "CS", "PatientSex"),
    ("0010,1010", "AS", "PatientAge"), ("0010,1040", "LO", "PatientAddress"), ("0010,2154", "SH", "PatientTelephoneNumbers"),
    ("0018,1000", "LO", "DeviceSerialNumber"), ("0008,1070", "PN", "OperatorsName"), ("0020,000d", "UI", "StudyInstanceUID"),
]


def dicom_values(r):
    age = r.age_years()
    pn = lambda p: P("PERSON", f"{p.last.upper()}^{p.first.upper()}" if R.random() < 0.7 else f"{p.last}^{p.first}^{p.middle}")
    return {
        "StudyDate": P("DATE", hl7_ts(r.visit, False)), "StudyTime": f"{R.randint(0, 23):02d}{R.randint(0, 59):02d}{R.randint(0, 59):02d}",
        "AccessionNumber": r.accession, "InstitutionName": R.choice(["SPRINGFIELD GENERAL", "Northside Imaging"]),
        "ReferringPhysicianName": pn(r.doc), "PatientName": pn(r.pt), "PatientID": P("MRN", r.mrn),
        "PatientBirthDate": P("DATE", hl7_ts(r.dob, False)), "PatientSex": r.pt.sex,
        "PatientAge": [P("AGE", f"{age:03d}")] + ["Y"] if age > 89 else f"{age:03d}Y",
        "PatientAddress": P("STREET_ADDRESS", r.addr.street), "PatientTelephoneNumbers": P("PHONE", v.phone("dash")),
        "DeviceSerialNumber": P("DEVICE_ID", r.device), "OperatorsName": pn(v.Person()),
        "StudyInstanceUID": "1.2.840." + ".".join(str(R.randint(1, 99999)) for _ in range(6)),
    }


def make_dicom(d_factory):
    style = R.choice(["dcmdump", "pydicom", "json"])
    d = d_factory("dicom", "dicom_" + style)
    r = Record()
    vals = dicom_values(r)
    tags = [t for t in DICOM_TAGS if R.random() < 0.85]
    if style == "dcmdump":
        d.add("# Dicom-Data-Set\n# Used TransferSyntax: Little Endian Explicit\n")
        for tag, vr, name in tags:
            val = vals[name]
            text = "".join(x if isinstance(x, str) else x.text() for x in (val if isinstance(val, list) else [val]))
            d.add(f"({tag}) {vr} [", val, f"]{' ' * max(1, 30 - len(text))}#  {len(text)}, 1 {name}\n")
    elif style == "pydicom":
        for tag, vr, name in tags:
            g, e = tag.split(",")
            label = {"PatientName": "Patient's Name", "PatientBirthDate": "Patient's Birth Date", "PatientID": "Patient ID",
                     "ReferringPhysicianName": "Referring Physician's Name", "PatientAddress": "Patient's Address",
                     "PatientTelephoneNumbers": "Patient's Telephone Numbers", "PatientAge": "Patient's Age", "PatientSex": "Patient's Sex",
                     "OperatorsName": "Operators' Name"}.get(name, name)
            d.add(f"({g.upper()}, {e.upper()}) {label:<35s} {vr}: '", vals[name], "'\n")
    else:
        d.add("{")
        for i, (tag, vr, name) in enumerate(tags):
            key = tag.replace(",", "").upper()
            d.add("," if i else "", f'"{key}":{{"vr":"{vr}","Value":[')
            if vr == "PN":
                d.add('{"Alphabetic":"', vals[name], '"}')
            else:
                d.add('"', vals[name], '"')
            d.add("]}")
        d.add("}\n")
    return d

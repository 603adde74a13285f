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


def segments(r):
    """The segments of one message, as lists of pieces."""
    kind = R.choice(["ADT^A01", "ADT^A04", "ADT^A08", "ADT^A03", "ORU^R01", "SIU^S12", "DFT^P03", "ORM^O01", "VXU^V04"])
    segs = [[msh(kind)]]
    segs.append(["EVN|", kind[4:], "|", hl7_ts(None)])
    pid = ["PID|1||", P("MRN", r.mrn), "^^^", R.choice(["MRN", "SMH", "EPI"]), "^MR"]
    if R.random() < 0.4:
        pid += ["~", P("SSN", r.ssn.replace("-", "") if R.random() < 0.5 else r.ssn), "^^^SSA^SS"]
    pid += ["||", hl7_name(r.pt, R.random() < 0.8), "|", P("PERSON", r.kin.last.upper()) if R.random() < 0.3 else "", "|",
            P("DATE", f"{r.dob.year}{r.dob.month:02d}{r.dob.day:02d}"), "|", r.pt.sex, "|||", hl7_addr(r.addr), "||", hl7_phone(), "|"]
    pid += [hl7_phone() if R.random() < 0.4 else "", "|", R.choice(["ENG", "SPA", ""]), "|", R.choice(["M", "S", "W", ""]), "||",
            P("ACCOUNT_NUMBER", v.digits(R.randint(8, 10))), "|", P("SSN", r.ssn) if R.random() < 0.5 else "", "|",
            P("DRIVER_LICENSE", r.dl.replace(" ", "")) if R.random() < 0.2 else ""]
    segs.append(pid)
    if R.random() < 0.6:
        segs.append(["PD1|||", R.choice(["SPRINGFIELD FAMILY MED", "NORTHSIDE CLINIC"]), "|", P("NPI", r.npi2), "^", hl7_name(r.doc2)])
    if R.random() < 0.6:
        segs.append(["NK1|1|", hl7_name(r.kin), "|", R.choice(["SPO^Spouse", "DAU^Daughter", "SON^Son", "MTH^Mother"]), "|", hl7_addr(r.addr), "|", hl7_phone()])
    segs.append(["PV1|1|", R.choice(["I", "O", "E"]), "|", R.choice(["4W^412^B", "ED^^", "ICU^07^A"]), "|||", "|", P("NPI", r.npi), "^", hl7_name(r.doc), "^^^^MD|||", R.choice(["MED", "SUR", "CAR"]),
                 "||||||||", P("ACCOUNT_NUMBER", r.encounter), "|||||||||||||||||||||||||", P("DATE", hl7_ts(r.admit)), "|", P("DATE", hl7_ts(r.discharge)) if kind == "ADT^A03" else ""])
    if kind.startswith("ADT") and R.random() < 0.5:
        segs.append(["GT1|1||", hl7_name(r.kin), "||", hl7_addr(r.addr), "|", hl7_phone(), "||", P("DATE", hl7_ts(v.birth_date(), False)), "||", R.choice(["SP", "PA"]), "|", P("SSN", v.ssn("plain"))])
        segs.append(["IN1|1|", R.choice(["BCBS", "MCR", "AET"]), "^", r.insurer.upper(), "|", v.digits(5), "|", r.insurer.upper(), "||||", r.group, "||||||", hl7_name(r.pt), "|SEL|",
                     P("DATE", hl7_ts(r.dob, False)), "|", hl7_addr(r.addr), "||||||||||||||||", P("HEALTH_PLAN_ID", r.member)])
    if kind == "ORU^R01":
        segs.append(["ORC|RE|", v.digits(8), "|", v.digits(8), "||CM||||", hl7_ts(), "|||", P("NPI", r.npi), "^", hl7_name(r.doc)])
        segs.append(["OBR|1|", v.digits(8), "|", v.digits(8), "|", R.choice(["80053^CMP", "85025^CBC", "83036^HBA1C"]), "|||", P("DATE", hl7_ts(r.visit))])
        for i in range(R.randint(2, 6)):
            segs.append([f"OBX|{i + 1}|NM|{R.choice(['2345-7^GLUCOSE', '2160-0^CREATININE', '718-7^HGB', '4548-4^HBA1C'])}^LN||{R.randint(1, 300)}|{R.choice(['mg/dL', 'g/dL', '%'])}|{R.randint(1, 99)}-{R.randint(100, 200)}|{R.choice(['N', 'H', 'L'])}|||F"])
    if kind == "SIU^S12":
        segs.append(["SCH|", v.digits(8), "||||", R.choice(["ROUTINE", "FOLLOWUP"]), "|||30|MIN|^^^", P("DATE", hl7_ts(v.recent_date()))])
    if kind == "VXU^V04":
        segs.append(["RXA|0|1|", P("DATE", hl7_ts(r.visit)), "||", R.choice(["141^Influenza", "208^COVID-19", "115^Tdap"]), "|0.5|mL||00^New immunization record^NIP001|", P("NPI", r.npi), "^", hl7_name(r.doc)])
    if kind == "DFT^P03":
        segs.append(["FT1|1|||", hl7_ts(r.visit), "||CG|", R.choice(v.CPT), "|||1|||||||||", R.choice(v.ICD10)])
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

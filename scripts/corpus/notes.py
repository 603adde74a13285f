"""Clinical documents as EHRs, dictation systems and people write them."""

from . import values as v
from .doc import P
from .record import Record

R = v.R


def lab(name, style=None):
    """A field label in one of the spellings real headers use."""
    st = style or R.choice(["colon", "colon", "upper", "dots", "dash", "tab"])
    if st == "upper":
        return f"{name.upper()}: "
    if st == "dots":
        return f"{name} " + "." * R.randint(3, 18) + " "
    if st == "dash":
        return f"{name} - "
    if st == "tab":
        return f"{name}:\t"
    return f"{name}: "


def filler(n=None):
    return " ".join(v.hard_negative_sentence() for _ in range(n if n is not None else R.randint(1, 3)))


def dr(p, form=None):
    """A clinician's name with a title or credentials."""
    f = form or R.choice(["dr_last", "dr_full", "full_md", "last_first_md", "initial_last"])
    if f == "dr_last":
        return ["Dr. ", P("PERSON", p.last)]
    if f == "dr_full":
        return [R.choice(["Dr. ", "Dr ", "DR. "]), P("PERSON", p.full())]
    if f == "full_md":
        return [P("PERSON", p.full()), R.choice([", MD", " MD", ", DO", ", NP", ", PA-C", " RN"])]
    if f == "last_first_md":
        return [P("PERSON", f"{p.last}, {p.first}"), R.choice([" MD", ", M.D.", " (Attending)"])]
    return [P("PERSON", f"{p.first[0]}. {p.last}"), R.choice([", MD", " NP", ""])]


def header_block(d, r, fields):
    """Key: value header lines, in the order and spelling a system uses."""
    for f in fields:
        if f == "name":
            d.f(lab(R.choice(["Patient Name", "Patient", "Name", "PATIENT", "Pt Name"])) + "{}\n", r.name())
        elif f == "mrn":
            d.f(lab(R.choice(["MRN", "Medical Record #", "MR#", "Med Rec No", "Chart #", "Record Number"])) + "{}\n", P("MRN", r.mrn))
        elif f == "dob":
            d.f(lab(R.choice(["DOB", "Date of Birth", "D.O.B.", "Birth Date", "BIRTHDATE"])) + "{}" + R.choice(["", f" ({r.age_years()}y)", f"  Age: {r.age_years()}"]) + "\n", v.dob_piece())
        elif f == "admit":
            d.f(lab(R.choice(["Admission Date", "Admit Date", "Date of Admission", "Admitted"])) + "{}\n", v.date_piece(r.admit))
        elif f == "discharge":
            d.f(lab(R.choice(["Discharge Date", "Date of Discharge", "Discharged"])) + "{}\n", v.date_piece(r.discharge))
        elif f == "visit":
            d.f(lab(R.choice(["Date of Service", "DOS", "Visit Date", "Encounter Date", "Date"])) + "{}\n", v.date_piece(r.visit))
        elif f == "attending":
            d.add(lab(R.choice(["Attending", "Attending Physician", "Provider", "PCP", "Referring Physician"])), dr(r.doc), "\n")
        elif f == "acct":
            d.f(lab(R.choice(["Account #", "Acct No", "Visit Account", "Billing Acct", "FIN"])) + "{}\n", P("ACCOUNT_NUMBER", r.account))
        elif f == "ssn":
            d.f(lab(R.choice(["SSN", "Social Security #", "SS#", "Soc Sec No"])) + "{}\n", P("SSN", r.ssn))
        elif f == "phone":
            d.f(lab(R.choice(["Phone", "Home Phone", "Tel", "Contact #", "Cell"])) + "{}\n", P("PHONE", r.phone))
        elif f == "address":
            d.add(lab(R.choice(["Address", "Home Address", "Addr", "Residence"])), r.addr.pieces(), "\n")
        elif f == "insurance":
            d.f(lab(R.choice(["Insurance", "Payer", "Primary Ins"])) + r.insurer + "  " + R.choice(["Member ID", "ID#", "Subscriber ID", "Policy #"]) + ": {}\n", P("HEALTH_PLAN_ID", r.member))
        elif f == "encounter":
            d.add(lab(R.choice(["Encounter #", "CSN", "Visit ID"])) + r.encounter + "\n")


def discharge_summary(d, r):
    d.add(R.choice(["DISCHARGE SUMMARY\n", "Discharge Summary\n\n", "*** DISCHARGE SUMMARY ***\n"]))
    fields = ["name", "mrn", "dob", "admit", "discharge", "attending"]
    if R.random() < 0.4:
        fields.append("acct")
    R.shuffle(fields[2:])
    header_block(d, r, fields)
    d.add("\nHOSPITAL COURSE:\n")
    d.f("{} is a {} {} admitted on {} with ", P("PERSON", R.choice([r.pt.full(), r.pt.last])), r.age_piece(), r.sex_word(), v.date_piece(r.admit))
    d.add(R.choice(["community-acquired pneumonia", "NSTEMI", "DKA", "a COPD exacerbation", "cellulitis of the left leg", "a hip fracture after a fall at home"]), ". ")
    d.add(filler(), "\n")
    if R.random() < 0.5:
        d.f("Seen in consultation by {} (cardiology) on {}. ", dr(r.doc2), v.date_piece())
    d.add(filler(), "\n\nDISCHARGE MEDICATIONS:\n")
    for _ in range(R.randint(2, 5)):
        d.add("- {} {} {}\n".format(*R.choice(v.MEDS)))
    d.add("\nFOLLOW-UP:\n")
    d.f("PCP {} in 1 week, call {} to schedule. ", dr(r.doc2, "dr_full"), P("PHONE", v.phone()))
    if R.random() < 0.5:
        d.f("Home health to visit at {}.\n", r.addr.pieces())
    d.f("\nElectronically signed by {} on {} {}\n", dr(r.doc, "full_md"), v.date_piece(r.discharge, "us"), f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}")


def progress_note(d, r):
    d.add(R.choice(["PROGRESS NOTE", "Progress Note - Internal Medicine", "Daily Progress Note", "IM PN"]), "\n")
    header_block(d, r, R.sample(["name", "mrn", "visit", "dob"], k=R.randint(2, 4)))
    d.add("\nS: ")
    d.f("{} {} {}. ", r.age_piece(), r.sex_word(), R.choice(["reports less SOB overnight", "c/o 6/10 back pain", "slept poorly", "tolerating diet"]))
    if R.random() < 0.5:
        d.f("{} ({}) at bedside, asks about dispo.", R.choice(["Daughter", "Wife", "Son", "Husband"]), P("PERSON", r.kin.first))
    d.add("\nO: ", v.vitals(), ". ", v.labs(), ".\n")
    d.add("A/P: ", R.choice(v.ICD10), " ", filler(1), "\n")
    d.add("- ", filler(1), "\n- Dispo: home ", R.choice(["tomorrow", "when cleared by PT", "with HH"]), ".\n")
    d.add(R.choice(["-- ", "Signed: ", ""]), dr(r.doc, R.choice(["full_md", "initial_last"])), "\n")


def ed_note(d, r):
    d.add(R.choice(["EMERGENCY DEPARTMENT NOTE\n", "ED Provider Note\n", "ED Triage\n"]))
    d.f("Arrival: {} {}  Mode: {}\n", v.date_piece(r.visit, R.choice(["us", "iso"])), f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}", R.choice(["EMS", "Private vehicle", "Walk-in"]))
    header_block(d, r, ["name", "dob", "mrn"][: R.randint(1, 3)])
    d.f("CC: {}\nHPI: {} {} ", R.choice(["chest pain", "fall", "SOB", "abd pain", "AMS"]), r.age_piece(), r.sex_word())
    d.add(R.choice(["BIBA from home", "brought in by family", "presents from nursing facility", "self-presents"]), " ")
    if R.random() < 0.5:
        d.f("({}). ", r.addr.pieces())
    d.f("History obtained from {} {}, {} ", R.choice(["her", "his", "pt's"]), r.kin_rel, P("PERSON", R.choice([r.kin.full(), r.kin.first])))
    d.f("(cell {}). ", P("PHONE", r.kin_phone))
    d.add(filler(), "\nExam: ", v.vitals(), ".\n")
    d.add("MDM: ", filler(1), "\n")
    if R.random() < 0.3:
        d.f("Pt's DL ({} {}) scanned at registration.\n", r.dl_state, P("DRIVER_LICENSE", r.dl))


def radiology(d, r):
    d.add(R.choice(["RADIOLOGY REPORT\n", "CT ABDOMEN/PELVIS W CONTRAST\n", "XR CHEST 2 VIEWS\n", "MRI BRAIN WO CONTRAST\n"]))
    d.f("Patient: {}    MRN: {}    DOB: {}\n", P("PERSON", f"{r.pt.last.upper()}, {r.pt.first.upper()}"), P("MRN", r.mrn), v.dob_piece("us"))
    d.f("Accession: {}   Exam date: {}\n", r.accession, v.date_piece(r.visit))
    d.add("Ordering: ", dr(r.doc, "last_first_md"), "\n")
    d.add("CLINICAL HISTORY: ", R.choice(["eval for PE", "r/o fracture", "h/o CVA", "cough x3wk"]), ".\n")
    d.add("COMPARISON: ", R.choice(["None.", "Prior from "]), )
    if d.chunks[-1].startswith("Prior"):
        d.f("{}.", v.date_piece())
    d.add("\nFINDINGS: ", filler(2), "\nIMPRESSION: ", R.choice(["No acute process.", "Small left effusion.", "Stable 4 mm nodule."]), "\n")
    d.add("Dictated by: ", dr(r.doc2, "full_md"), " | Transcribed: ", R.choice(["jm", "kt", "ab"]), "\n")


def pathology(d, r):
    d.add("SURGICAL PATHOLOGY REPORT\n")
    d.f("Name: {}\nMed Rec #: {}\nCollected: {}  Received: {}\n", r.name(f"{r.pt.last}, {r.pt.first} {r.pt.middle}"), P("MRN", r.mrn), v.date_piece(r.visit), v.date_piece(r.visit, "us"))
    d.add("Case #: S", v.digits(2), "-", v.digits(5), "\n")
    d.add("Submitting physician: ", dr(r.doc, "dr_full"), "\n")
    d.add("FINAL DIAGNOSIS:\n A. ", R.choice(["Colon, sigmoid, biopsy: tubular adenoma.", "Skin, left cheek, shave: basal cell carcinoma, margins clear.", "Breast, right, core: invasive ductal carcinoma, grade 2."]), "\n")
    d.add("GROSS: Received in formalin labeled with the patient's name and medical record number, ", f"{R.randint(2, 30)} x {R.randint(2, 20)} x {R.randint(1, 9)} mm.\n")


def referral_letter(d, r):
    d.add(R.choice(["Springfield Family Medicine\n", "Lakeside Cardiology Associates\n", "Northside Orthopedics, PLLC\n"]))
    d.f("{} {}  Fax {}\n\n", R.choice(["Tel", "Phone", "T:"]), P("PHONE", v.phone()), P("PHONE", v.phone()))
    d.f("{}\n\n", v.date_piece(v.recent_date(), R.choice(["month_d_yyyy", "d_month_yyyy", "us"])))
    d.add("Dear ", dr(r.doc2, R.choice(["dr_last", "dr_full"])), ",\n\n")
    d.f("Thank you for seeing {} (DOB {}), a {} {} with ", r.name(), v.dob_piece(), r.age_piece(R.choice([f"{r.age_years()}-year-old", f"{r.age_years()} year old"])), r.sex_word())
    d.add(R.choice(["worsening knee pain", "new atrial fibrillation", "an abnormal mammogram", "poorly controlled diabetes"]), ". ")
    d.add(filler(), "\n\n")
    d.f("{} can be reached at {} or {}. ", R.choice(["She", "He", "The patient"]), P("PHONE", r.cell), P("EMAIL", r.email))
    if R.random() < 0.5:
        d.f("Insurance: {}, member {}.", r.insurer, P("HEALTH_PLAN_ID", r.member))
    d.add("\n\n", R.choice(["Sincerely,", "Kind regards,", "Best,", "Warmly,"]), "\n\n")
    d.add(P("PERSON", r.doc.full()), ", MD\n", R.choice(["NPI ", "NPI: ", "NPI# "]), P("NPI", r.npi), "\n")


def telephone_encounter(d, r):
    d.add(R.choice(["Telephone Encounter", "TELEPHONE NOTE", "Phone Call"]), "\n")
    d.f("{} {} ", v.date_piece(r.visit, R.choice(["us", "us_nozero"])), f"{R.randint(7, 18)}:{R.randint(0, 59):02d} {R.choice(['AM', 'PM', ''])}")
    d.add(R.choice(["Caller: ", "Call from: ", "Spoke with: "]))
    who = R.random()
    if who < 0.5:
        d.f("{} (self)\n", r.name())
    else:
        d.f("{} ({} of pt)\n", P("PERSON", r.kin.full()), r.kin_rel)
    d.f("Callback #: {}\n", P("PHONE", R.choice([r.cell, r.phone, v.phone("plain")])))
    d.add("Reason: ", R.choice(["med refill", "lab results", "rash after new abx", "needs FMLA paperwork"]), ".\n")
    d.f("Pt {} states {}. ", P("PERSON", r.pt.first), R.choice(["she ran out of her lisinopril", "the rash is spreading", "his sugars have been 300s"]))
    d.add(filler(1), "\n")
    d.f("Advised to call back if worse. SMS reminder to {} sent.\n", P("PHONE", v.phone(R.choice(["e164", "plain", "plus1"]))))
    d.add("-- ", R.choice(["RN", "LPN", "MA"]), " ", P("PERSON", v.Person().full()), "\n")


def nursing_note(d, r):
    d.add(R.choice(["Nursing Note", "RN shift note", "NSG NOTE 0700-1900"]), "\n")
    d.f("{} {} {} in rm {}. ", r.age_piece(), r.sex_word(), R.choice(["resting", "A&Ox3", "confused overnight"]), R.randint(100, 700))
    d.add(v.vitals(), ". ")
    d.f("pt's {} {} called at {} for update, ", r.kin_rel, P("PERSON", r.kin.first.lower() if R.random() < 0.3 else r.kin.first), f"{R.randint(1, 11)}{R.choice(['am', 'pm'])}")
    d.f("number on file {}. ", P("PHONE", r.kin_phone))
    d.add(filler(1), " ")
    if R.random() < 0.3:
        d.f("Pt wearing {} (serial {}).", R.choice(["Dexcom CGM", "Zio patch", "insulin pump"]), P("DEVICE_ID", r.device))
    d.add("\n")


def pharmacy_note(d, r):
    d.add(R.choice(["Pharmacy Intervention\n", "Rx verification\n", "PHARMACY NOTE\n"]))
    d.f("Patient {} / MRN {}\n", r.name(), P("MRN", r.mrn))
    med = R.choice(v.MEDS)
    d.add("Rx: {} {} {}\n".format(*med))
    d.add("Prescriber: ", dr(r.doc, "dr_full"))
    d.f("  NPI {}  DEA {}\n", P("NPI", r.npi), P("DEA_NUMBER", r.dea))
    d.add("NDC ", v.ndc(), ", qty ", str(R.randint(14, 90)), ", refills ", str(R.randint(0, 5)), "\n")
    d.f("Called pt at {} re: interaction with {}.\n", P("PHONE", r.phone), R.choice(["warfarin", "clarithromycin", "grapefruit juice"]))


def consult_note(d, r):
    d.add(R.choice(["Consult Note - Nephrology", "INFECTIOUS DISEASE CONSULTATION", "Cardiology Consult"]), "\n")
    d.add("Requesting: ", dr(r.doc2), "  Reason: ", R.choice(["AKI", "MRSA bacteremia", "new AF"]), "\n")
    d.f("HPI: {} is a {} {} with PMH of {}. ", P("PERSON", r.pt.full() if R.random() < 0.6 else f"{r.pt.last}"), r.age_piece(), r.sex_word(), R.choice(["HTN, DM2, CKD3", "CAD s/p CABG", "HFrEF (EF 25%)"]))
    d.add(filler(2), "\n")
    d.add("Social: lives ", R.choice(["alone", "with wife", "with daughter"]), " at ")
    d.add(P("STREET_ADDRESS", r.addr.street), R.choice([", ", " in "]), P("STREET_ADDRESS", r.addr.city), ". ")
    d.add(R.choice(["Retired machinist.", "Works at a school.", "Former smoker, 30 pack-years."]), "\n")
    d.add("Recs: ", filler(1), "\nThank you for this consult. ", dr(r.doc, "full_md"), " pager ", str(R.randint(1000, 9999)), "\n")


def operative_note(d, r):
    d.add("OPERATIVE REPORT\n")
    d.f("DATE OF PROCEDURE: {}\n", v.date_piece(r.visit, R.choice(["us", "month_d_yyyy", "DD-MON-YYYY"])))
    d.f("PATIENT: {}  MRN: {}\n", r.name(), P("MRN", r.mrn))
    d.add("SURGEON: ", dr(r.doc, "full_md"), "\nASSISTANT: ", dr(r.doc2, "full_md"), "\n")
    d.add("PROCEDURE: ", R.choice(["Laparoscopic cholecystectomy", "Right total knee arthroplasty", "Dual-chamber pacemaker implantation"]), ".\n")
    d.add("EBL: ", str(R.randint(5, 600)), " mL. ", filler(1), "\n")
    if R.random() < 0.6:
        d.f("IMPLANTS: {} model {} SN {}; UDI {}\n", R.choice(["Medtronic Azure", "Zimmer Persona", "Boston Sci Accolade"]), R.choice(["W1DR01", "XT-42", "L331"]), P("DEVICE_ID", r.device), P("DEVICE_ID", r.udi))


def death_note(d, r):
    age = v.age_over_89() if R.random() < 0.7 else r.age_years()
    d.add(R.choice(["DEATH SUMMARY\n", "Expiration Note\n", "Pronouncement Note\n"]))
    d.f("{} was pronounced dead at {} on {}. ", r.name(), f"{R.randint(0, 23):02d}{R.randint(0, 59):02d}", v.date_piece(r.visit))
    agep = [P("AGE", str(age))] if age > 89 else [str(age)]
    d.add("Age at death: ", agep, R.choice([" years", "y", ""]), ". ")
    d.add("Cause: ", R.choice(["cardiopulmonary arrest due to septic shock", "metastatic pancreatic cancer", "acute on chronic respiratory failure"]), ". ")
    d.f("Family ({} {}) notified by phone at {}. ", r.kin_rel, P("PERSON", r.kin.full()), P("PHONE", r.kin_phone))
    d.f("Decedent DOB {}, SSN {}. Funeral home: {}.\n", v.dob_piece(), P("SSN", r.ssn), R.choice(["Hillcrest Funeral Home", "Oak Lawn Chapel"]))


def lab_report(d, r):
    d.add(R.choice(["LABORATORY REPORT", "Quest-style Lab Result", "CHEMISTRY PANEL"]), "\n")
    d.f("{}{}    Sex: {}    DOB: {}  Age: ", lab("Patient", "upper"), P("PERSON", f"{r.pt.last.upper()}, {r.pt.first.upper()} {r.pt.middle}"), r.pt.sex, v.dob_piece("us"))
    d.add(r.age_piece(str(r.age_years())), "\n")
    d.f("Specimen ID: {}   Collected: {} {}\n", f"{v.digits(3)}-{v.digits(3)}-{v.digits(4)}-0", v.date_piece(r.visit, "us"), f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}")
    d.add("Ordering Physician: ", dr(r.doc, "last_first_md"), "\n")
    for _ in range(R.randint(3, 7)):
        d.add(f"{R.choice(['Sodium', 'Potassium', 'Glucose', 'Creatinine', 'ALT', 'Hemoglobin'])}\t{R.randint(1, 300)}\t{R.choice(['mmol/L', 'mg/dL', 'U/L', 'g/dL'])}\t{R.choice(['', 'H', 'L'])}\n")


def portal_message(d, r):
    d.add(R.choice(["From: ", "Message from patient "]))
    d.f("{} <{}>\n", r.name(f"{r.pt.first} {r.pt.last}"), P("EMAIL", r.email))
    d.f("Sent: {}\nSubject: {}\n\n", v.date_piece(v.recent_date(), R.choice(["month_d_yyyy", "us"])), R.choice(["question about my meds", "refill", "test results?", "appointment"]))
    d.add(R.choice(["Hi ", "Hello ", "Dear "]), dr(r.doc, "dr_last"), ",\n\n")
    d.add(R.choice(["I have been having more dizziness since the new dose.", "Can you send my refill to the CVS on Main?", "My insurance changed,"]), " ")
    if R.random() < 0.5:
        d.f("New member id is {}. ", P("HEALTH_PLAN_ID", v.member_id()))
    if R.random() < 0.5:
        d.f("My cell is {} if easier. ", P("PHONE", r.cell))
    d.add("\n\n", R.choice(["Thanks,", "thanks,", "Thank you!", "Best,", "-"]), R.choice([" ", "\n"]), P("PERSON", r.pt.first), "\n")


def prior_auth(d, r):
    d.add("PRIOR AUTHORIZATION REQUEST\n")
    d.f("Member Name: {}\nMember ID: {}\nGroup #: {}\nDOB: {}\n", r.name(), P("HEALTH_PLAN_ID", r.member), r.group, v.dob_piece())
    d.f("Medicare MBI: {}\n", P("HEALTH_PLAN_ID", r.mbi))
    d.add("Requesting Provider: ", P("PERSON", r.doc.full()), "  NPI: ", P("NPI", r.npi), "\n")
    d.add("Servicing Facility NPI: ", P("NPI", r.npi2), "\n")
    d.add("Service: ", R.choice(["MRI lumbar spine", "Humira 40 mg", "CPAP"]), " CPT ", R.choice(v.CPT), " Dx ", R.choice(v.ICD10), "\n")
    d.add("Clinical rationale: ", filler(2), "\n")


def billing_statement(d, r):
    d.add(R.choice(["PATIENT STATEMENT\n", "Statement of Account\n"]))
    d.f("Guarantor: {}\n", P("PERSON", R.choice([r.pt.full(), r.kin.full()]).upper()))
    d.add(r.addr.pieces("\n") if R.random() < 0.5 else [P("STREET_ADDRESS", r.addr.street), "\n", P("STREET_ADDRESS", r.addr.city), f", {r.addr.state} ", P("ZIP_CODE", r.addr.zip_text())], "\n")
    d.f("Account Number: {}\nStatement Date: {}\n", P("ACCOUNT_NUMBER", r.account), v.fmt_date(v.recent_date()))
    d.add(f"Amount Due: ${R.randint(10, 4000)}.{v.digits(2)}\n")
    d.f("Pay by bank: routing {} account {}\n", P("ACCOUNT_NUMBER", r.routing), P("ACCOUNT_NUMBER", v.account()))
    if R.random() < 0.4:
        d.f("Card on file: {} exp {}/{}\n", P("CREDIT_CARD", r.card), f"{R.randint(1, 12):02d}", R.randint(25, 30))
    if R.random() < 0.3:
        d.f("International transfers: IBAN {}\n", P("IBAN", r.iban))


def home_health(d, r):
    d.add("Home Health Visit Note\n")
    d.f("Visit {} at {} (gate code {}). ", v.date_piece(r.visit), r.addr.pieces(), R.randint(1000, 9999))
    d.f("Pt {} {} ", P("PERSON", r.pt.full()), R.choice(["ambulating with walker", "bedbound", "up in chair"]))
    d.add(v.vitals(), ". ")
    d.f("Caregiver {} present, phone {}. ", P("PERSON", r.kin.full()), P("PHONE", r.kin_phone))
    d.add(filler(1), "\n")


def social_work(d, r):
    d.add("Social Work Assessment\n")
    d.f("Met with pt and {} {} at bedside. ", r.kin_rel, P("PERSON", r.kin.first))
    d.f("Pt lives at {} with {}. ", [P("STREET_ADDRESS", r.addr.street), ", ", P("STREET_ADDRESS", r.addr.city)], R.choice(["spouse", "adult son", "no one"]))
    d.f("Income: SSDI. Medicaid ID {}. ", P("HEALTH_PLAN_ID", v.member_id()))
    d.f("Emergency contact: {} ({}), {}.\n", P("PERSON", r.kin.full()), r.kin_rel, P("PHONE", r.kin_phone))
    d.add(filler(1), "\n")


def behavioral_intake(d, r):
    d.add("Behavioral Health Intake\n")
    header_block(d, r, ["name", "dob", "phone"])
    d.f("Referred by {} after ED visit on {}. ", dr(r.doc), v.date_piece())
    d.add("PHQ-9 ", str(R.randint(5, 27)), ". ")
    d.f("Lives with partner {}. Works as {}. ", P("PERSON", v.Person().first), R.choice(["a nurse", "a driver", "a teacher"]))
    d.add(filler(1), "\n")


def immunization(d, r):
    d.add("IMMUNIZATION RECORD\n")
    d.f("{}{}  DOB {}\n", lab("Name", "upper"), r.name(), v.dob_piece())
    for _ in range(R.randint(2, 5)):
        d.f("{}\t{}\tLot {}\t{}\n", R.choice(["Tdap", "Influenza", "COVID-19 mRNA", "PCV20", "Shingrix", "HepB"]), v.date_piece(), f"{R.choice('ABEFU')}{v.digits(4)}", R.choice(["L deltoid", "R deltoid", "IM"]))


def ems_run(d, r):
    d.add("EMS PATIENT CARE REPORT\n")
    d.f("Incident #{}  Unit M{}\n", v.digits(8), R.randint(1, 40))
    d.f("Incident address: {}\n", r.addr.pieces())
    d.f("Patient: {}  DOB {}  Age {}\n", r.name(), v.dob_piece(), r.age_piece(str(r.age_years())))
    d.add("Narrative: ", R.choice(["MVC, restrained driver", "fall from standing", "unresponsive at home"]), ". ")
    if R.random() < 0.6:
        d.f("Vehicle VIN {} plate {}. ", P("VIN", r.vin), r.plate)
    d.f("ID: {} DL {}. ", r.dl_state, P("DRIVER_LICENSE", r.dl))
    d.add(v.vitals(), ".\n")


def incident_report(d, r):
    d.add("SAFETY EVENT REPORT\n")
    d.f("Event date: {}\nPatient MRN: {}\n", v.date_piece(), P("MRN", r.mrn))
    d.f("Device involved: {} serial no. {}\n", R.choice(["infusion pump", "pacemaker", "bed alarm"]), P("DEVICE_ID", r.device))
    d.f("Reported by {} ({}). ", P("PERSON", v.Person().full()), R.choice(["RN", "charge nurse"]))
    d.add(filler(1), "\n")


def eob(d, r):
    d.add(R.choice(["EXPLANATION OF BENEFITS\n", "Explanation of Benefits - THIS IS NOT A BILL\n"]))
    d.f("Member: {}\nMember ID: {}  Claim #: {}\n", r.name(), P("HEALTH_PLAN_ID", r.member), v.digits(12))
    d.f("Provider: {}  Date of service: {}\n", dr(r.doc, "full_md"), v.date_piece())
    d.add(f"Billed ${R.randint(100, 9000)}.00  Allowed ${R.randint(50, 900)}.00  You owe ${R.randint(0, 500)}.00\n")


def fax_cover(d, r):
    d.add("FAX COVER SHEET\n")
    d.f("To: {}   Fax: {}\n", dr(r.doc2), P("PHONE", v.phone()))
    d.f("From: {}   Fax: {}   Phone: {}\n", P("PERSON", v.Person().full()), P("PHONE", v.phone()), P("PHONE", v.phone()))
    d.f("Re: {} DOB {}\n", r.name(), v.dob_piece())
    d.add(f"Pages: {R.randint(2, 30)} (including cover)\n")
    d.add("CONFIDENTIAL: this fax contains protected health information.\n")


def transfer_note(d, r):
    d.add("Interfacility Transfer\n")
    d.f("Transferring {} ({} {}) to {}. ", r.name(), r.age_piece(), r.sex_word(), R.choice(["St. Mary's ICU", "University Hospital", "Regional Burn Center"]))
    d.add("Accepting: ", dr(r.doc2, "dr_full"), ". ")
    d.f("Report called to {} at {}. ", P("PERSON", v.Person().first), P("PHONE", v.phone()))
    d.add(filler(1), "\n")


def letter_to_patient(d, r):
    d.add(r.name(r.pt.full()), "\n", r.addr.pieces("\n"), "\n\n")
    d.f("{}\n\nDear {},\n\n", v.fmt_date(v.recent_date(), "month_d_yyyy"), P("PERSON", R.choice([r.pt.last, r.pt.first, r.pt.full()])))
    d.f("Your results from your visit on {} are normal. ", v.date_piece())
    d.add(filler(1), "\n\nSincerely,\n", P("PERSON", r.doc.full()), ", MD\n")


def psych_note(d, r):
    d.add("Psychiatry Follow-up\n")
    d.f("{} is a {} {} seen for {}. ", P("PERSON", r.pt.first), r.age_piece(), r.sex_word(), R.choice(["MDD", "GAD", "bipolar I"]))
    d.f("Reports conflict with {} {}. ", R.choice(["her ex", "his brother", "boss"]), P("PERSON", v.Person().first))
    d.add("MSE: ", R.choice(["calm, linear", "anxious, tangential"]), ". ", filler(1), "\n")


def ob_note(d, r):
    d.add("OB Visit\n")
    d.f("{} G{}P{} at {}w{}d. EDD {}. ", r.name(), R.randint(1, 5), R.randint(0, 4), R.randint(8, 40), R.randint(0, 6), v.date_piece())
    d.f("FOB {} present. ", P("PERSON", v.Person().full()))
    d.add(v.vitals(), ". FHR ", str(R.randint(120, 160)), ".\n")


def well_child(d, r):
    d.add("Well Child Check\n")
    kid = v.Person(last=r.pt.last)
    d.f("{} (DOB {}) here with mother {} for {} visit. ", P("PERSON", kid.full()), v.dob_piece(), P("PERSON", r.pt.full()), R.choice(["2 month", "12 month", "4 year"]))
    d.add("Growth: ", v.vitals(), ". ")
    d.f("Guardian contact {}.\n", P("PHONE", r.phone))


def workers_comp(d, r):
    d.add("WORKERS' COMPENSATION FIRST REPORT\n")
    d.f("Employee: {}  SSN: {}  DOB: {}\n", r.name(), P("SSN", r.ssn), v.dob_piece())
    d.f("Home: {}\n", r.addr.pieces())
    d.f("Date of injury: {}  Employer: {}\n", v.date_piece(), R.choice(["Acme Logistics", "City of Springfield", "Lakeside Foods"]))
    d.f("Claim #{}; adjuster {} {}\n", v.digits(10), P("PERSON", v.Person().full()), P("PHONE", v.phone()))


def interpreter_note(d, r):
    d.add(R.choice(["Interpreter used: ", "Interpreter: "]))
    d.f("{} ({} #{}). ", P("PERSON", v.Person().full()), R.choice(["Spanish", "Vietnamese", "Mandarin", "Polish"]), v.digits(6))
    d.f("Pt {} verbalized understanding. ", P("PERSON", r.pt.full()))
    d.add(filler(1), "\n")


def case_management(d, r):
    d.add("Case Management Note\n")
    d.f("Pt {} {} anticipates d/c {}. ", r.name(), P("MRN", r.mrn), v.date_piece(r.discharge))
    d.f("Insurance {} ID {}. ", r.insurer, P("HEALTH_PLAN_ID", r.member))
    d.f("Spoke with {} {} at {}; ", r.kin_rel, P("PERSON", r.kin.full()), P("PHONE", r.kin_phone))
    d.f("DME to be delivered to {}.\n", r.addr.pieces())


def dictation(d, r):
    """Dictated text: lower case, spelled-out punctuation lost, run-on."""
    d.add("this is ", dr(r.doc, "dr_full"), " dictating on ")
    d.f("{} for patient {} date of birth {} medical record number {} ", P("PERSON", r.pt.full().lower() if R.random() < 0.5 else r.pt.full()), v.date_piece(r.visit, "month_d_yyyy"), v.dob_piece("month_d_yyyy"), P("MRN", r.mrn))
    d.add("the patient is a ", r.age_piece(f"{r.age_years()} year old"), " ", r.sex_word(), " who ", R.choice(["returns for follow up", "presents with cough"]), " ", filler(1).lower(), "\n")


def covid_test(d, r):
    d.add("SARS-CoV-2 RT-PCR RESULT\n")
    d.f("Name: {}\nDOB: {}\nPhone: {}\nEmail: {}\n", r.name(), v.dob_piece(), P("PHONE", r.cell), P("EMAIL", r.email))
    d.f("Collected {}  Resulted {}\nResult: {}\n", v.date_piece(), v.date_piece(), R.choice(["NOT DETECTED", "DETECTED"]))
    d.add("Performing lab CLIA 05D", v.digits(7), "\n")


TEMPLATES = [discharge_summary, progress_note, ed_note, radiology, pathology, referral_letter, telephone_encounter,
             nursing_note, pharmacy_note, consult_note, operative_note, death_note, lab_report, portal_message, prior_auth,
             billing_statement, home_health, social_work, behavioral_intake, immunization, ems_run, incident_report, eob,
             fax_cover, transfer_note, letter_to_patient, psych_note, ob_note, well_child, workers_comp, interpreter_note,
             case_management, dictation, covid_test]


def make(d_factory):
    t = R.choice(TEMPLATES)
    d = d_factory("note", t.__name__)
    t(d, Record())
    return d

"""A synthetic patient and the people and things around them."""

from . import values as v
from .doc import P


class Record:
    """Everything one patient's documents may mention, made up."""

    def __init__(self):
        R = v.R
        self.pt = v.Person()
        self.dob = v.birth_date()
        self.age = None
        if R.random() < 0.18:
            self.age = v.age_over_89()
        self.mrn = v.mrn()
        self.ssn = v.ssn()
        self.phone = v.phone()
        self.cell = v.phone()
        self.email = v.email(self.pt)
        self.addr = v.Address()
        self.member = v.member_id()
        self.mbi = v.mbi()
        self.group = f"GRP{v.digits(5)}"
        self.insurer = R.choice(["Aetna", "BCBS of Illinois", "UnitedHealthcare", "Cigna", "Humana", "Medicare Part B", "Medi-Cal", "Kaiser Permanente", "Molina Healthcare", "Ambetter"])
        self.admit = v.recent_date()
        self.discharge = self.admit.fromordinal(self.admit.toordinal() + R.randint(1, 12))
        self.visit = v.recent_date()
        self.doc = v.Person()
        self.doc2 = v.Person()
        self.npi = v.npi()
        self.npi2 = v.npi()
        self.dea = v.dea()
        self.kin = v.Person(last=self.pt.last if R.random() < 0.6 else None)
        self.kin_rel = R.choice(["daughter", "son", "wife", "husband", "mother", "father", "sister", "brother", "niece", "partner", "POA"])
        self.kin_phone = v.phone()
        self.dl_state, self.dl = v.driver_license()
        self.passport = v.passport()
        self.account = v.account()
        self.routing = v.aba()
        self.card = v.card()
        self.iban = v.iban()
        self.vin = v.vin()
        self.plate = f"{v.digits(1)}{R.choice('ABCDEFGHJK')}{R.choice('LMNPRS')}{R.choice('TUVWXYZ')}{v.digits(3)}"
        self.device = v.device_serial()
        self.udi = v.udi()
        self.imei = v.imei()
        self.ip = v.ipv4()
        self.mac = v.mac()
        self.encounter = v.digits(R.randint(8, 10))
        self.accession = f"{R.choice(['RAD', 'CT', 'MR', 'US', 'XR', 'A'])}{v.digits(8)}"

    def sex_word(self):
        return {"F": v.R.choice(["female", "woman", "F", "lady"]), "M": v.R.choice(["male", "man", "M", "gentleman"])}[self.pt.sex]

    def age_years(self):
        return self.age if self.age is not None else max(1, 2025 - self.dob.year)

    def age_piece(self, form=None):
        """The patient's age as notes write it: AGE-labelled when over 89."""
        a = self.age_years()
        forms = [f"{a}-year-old", f"{a} y/o", f"{a}yo", f"{a} yo", f"{a}y", f"{a} year old", f"{a}-yr-old", f"aged {a}", f"{a}F" if self.pt.sex == "F" else f"{a}M", f"({a}y)"]
        s = form or v.R.choice(forms)
        if a > 89:
            num = str(a)
            i = s.index(num)
            return [s[:i], P("AGE", num), s[i + len(num):]]
        return s

    def name(self, form=None):
        return v.person_piece(self.pt, form)

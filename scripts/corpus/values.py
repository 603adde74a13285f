"""Invented values in the shapes real systems write them.

Every value is made up: identifiers are random and made to pass their
checksum where a real one would, names are drawn from census lists and from
hand-written lists of names common in many countries (names alone are not
PHI), addresses are random combinations. Nothing here is real PHI.

The lists below are the generator's own: they are deliberately not the
scanner's dictionaries, so the corpus measures what the scanner would do on
names it was not built from.
"""

import base64
import datetime
import json
import random
import string
from pathlib import Path

from .doc import P

R = random.Random(0)


def seed(n):
    R.seed(n)


ROOT = Path(__file__).resolve().parents[2]


def _census(name, limit):
    words = (ROOT / "core/patterns/names" / name).read_text().split()
    return words[:limit]


# Census names: the frequent head of each list, where real people are.
CENSUS_FIRST = _census("first.txt", 6000)
CENSUS_LAST = _census("last.txt", 12000)

# Names common outside the US census lists, by origin; spelled as people
# write them, with their diacritics.
WORLD_FIRST = """
Alejandro Ximena Guadalupe Rodrigo Itzel Joaquín Mónica Esteban Yesenia Araceli
Thanh Linh Quang Hương Tuấn Ngọc Minh Phương Hoa Duc
Wenjun Xiaoming Jiahui Zhiwei Yuting Haoran Meiling Jun Xin Yifan
Seo-yeon Ji-hoon Min-jun Hyun-woo Eun-ji Soo-ah
Haruto Yui Sota Aoi Ren Hinata Kenji Sakura
Priya Arjun Lakshmi Venkatesh Ananya Rohan Deepika Sanjay Kavitha Aditi
Chiamaka Oluwaseun Ngozi Adebayo Chukwuemeka Folake Emeka Adaeze Tunde Amara
Mohammed Fatima Youssef Layla Omar Khadija Tariq Noor Rania Bilal
Zbigniew Małgorzata Wojciech Agnieszka Krzysztof Jadwiga
Jürgen Dörte Lukas Anneliese Günther Björn Jörg
Hélène Émile Amélie François Géraldine Thérèse
Søren Ingrid Åsa Sigrún Øystein Torbjørn
Siobhán Niamh Ciarán Aoife Pádraig
Dmitri Svetlana Yevgeny Olga Anastasia
Eleni Konstantinos Dimitra
João Conceição Thiago Luana
Ayşe Mehmet Çağrı Emine
Malia Kalani Maricel Rommel
""".split()

WORLD_LAST = """
Quintero Villaseñor Ochoa Zúñiga Barragán Echeverría Montoya Céspedes Ibarra Arredondo
Nguyễn Trần Phạm Huỳnh Đặng Võ Bùi
Zhang Wang Liu Chen Huang Zhou Xu Guo Zhao Sun
Park Choi Jung Kang Yoon Lim
Takahashi Watanabe Yamamoto Nakamura Kobayashi Inoue
Raghunathan Venkataraman Chattopadhyay Iyer Reddy Krishnamurthy Bhattacharya Subramanian
Okonkwo Adeyemi Eze Nwosu Oyelaran Abubakar Okafor Balogun
Al-Sayed Haddad Khoury El-Amin Abdelrahman Mansour
Łęcki Wiśniewska Kowalczyk Szymański Wróbel Grzegorczyk
Großkreutz Schäfer Weißmann Köhler Strauß
Lefèvre Dubois Bélanger Côté Lévesque
Thorsdottir Kjærgaard Lindqvist Øvrebø
O'Sullivan McGillicuddy Ní\u00a0Bhraonáin
Kuznetsova Ivanov Pavlovich Sokolov
Papadopoulos Georgiou
Gonçalves Araújo
Yılmaz Şahin Öztürk
Dela\u00a0Cruz Kealoha Macapagal
""".split()
WORLD_LAST = [w.replace("\u00a0", " ") for w in WORLD_LAST]

# Given names that are also ordinary words: real, and a precision trap.
WORD_FIRST = ["Hope", "Grace", "Will", "May", "June", "Bill", "Grant", "Faith", "Joy", "Dawn", "Art", "Rich", "Summer", "Ivy"]

NICK = {"William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Margaret": "Peggy"}


def first_name():
    r = R.random()
    if r < 0.5:
        return R.choice(CENSUS_FIRST)
    if r < 0.94:
        return R.choice(WORLD_FIRST)
    return R.choice(WORD_FIRST)


def last_name():
    return R.choice(CENSUS_LAST) if R.random() < 0.5 else R.choice(WORLD_LAST)


class Person:
    def __init__(self, first=None, last=None):
        self.first = first or first_name()
        self.last = last or last_name()
        self.middle = R.choice(string.ascii_uppercase)
        self.sex = R.choice("FM")

    def full(self):
        return f"{self.first} {self.last}"

    def any_form(self):
        """A rendering of this name as free text writes it."""
        f, l, m = self.first, self.last, self.middle
        return R.choice([
            f"{f} {l}", f"{f} {l}", f"{f} {m}. {l}", f"{f} {m} {l}",
            f"{l}, {f}", f"{l}, {f} {m}", f"{l.upper()}, {f.upper()}",
            f"{f.upper()} {l.upper()}", f"{l.upper()},{f.upper()}",
        ])


def person_piece(p=None, form=None):
    p = p or Person()
    return P("PERSON", form or p.any_form())


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def rand_date(lo=1920, hi=2025):
    y = R.randint(lo, hi)
    return datetime.date(y, R.randint(1, 12), R.randint(1, 28))


def birth_date():
    return rand_date(1925, 2021)


def recent_date():
    return rand_date(2016, 2025)


def fmt_date(d, style=None):
    """A date as some system or person writes it."""
    styles = [
        "us", "us", "us_short", "iso", "iso", "mon_dd_yyyy", "dd_mon_yyyy",
        "DD-MON-YYYY", "d_month_yyyy", "month_d_yyyy", "eu_dot", "eu_slash",
        "compact", "iso_slash", "us_dash", "mon_d", "us_nozero",
    ]
    s = style or R.choice(styles)
    m3 = MONTHS[d.month - 1][:3]
    if s == "us":
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if s == "us_nozero":
        return f"{d.month}/{d.day}/{d.year}"
    if s == "us_short":
        return f"{d.month}/{d.day}/{d.year % 100:02d}"
    if s == "us_dash":
        return f"{d.month:02d}-{d.day:02d}-{d.year}"
    if s == "iso":
        return d.isoformat()
    if s == "iso_slash":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if s == "mon_dd_yyyy":
        return f"{m3} {d.day:02d} {d.year}"
    if s == "dd_mon_yyyy":
        return f"{d.day} {m3} {d.year}"
    if s == "DD-MON-YYYY":
        return f"{d.day:02d}-{m3.upper()}-{d.year}"
    if s == "d_month_yyyy":
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    if s == "month_d_yyyy":
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    if s == "eu_dot":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if s == "eu_slash":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if s == "compact":
        return f"{d.year}{d.month:02d}{d.day:02d}"
    if s == "mon_d":
        return f"{m3} {d.day}"
    raise ValueError(s)


def date_piece(d=None, style=None):
    return P("DATE", fmt_date(d or recent_date(), style))


def dob_piece(style=None):
    return P("DATE", fmt_date(birth_date(), style))


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


def ssn(style=None):
    a = R.randint(1, 899)
    while a == 666:
        a = R.randint(1, 899)
    g, s = R.randint(1, 99), R.randint(1, 9999)
    st = style or R.choice(["dash", "dash", "dash", "plain", "space"])
    if st == "dash":
        return f"{a:03d}-{g:02d}-{s:04d}"
    if st == "space":
        return f"{a:03d} {g:02d} {s:04d}"
    return f"{a:03d}{g:02d}{s:04d}"


def ssn_piece(style=None):
    return P("SSN", ssn(style))


def mrn():
    return R.choice([
        digits(8), digits(7), "0" + digits(6), digits(9), digits(10),
        "M" + digits(8), "J" + digits(9), "MRN" + digits(8), "E" + digits(7),
        f"{digits(2)}-{digits(2)}-{digits(2)}-{digits(2)}", "MR-" + digits(7),
        R.choice("ABCKRZ") + digits(7), digits(3) + "-" + digits(4) + "-" + digits(1),
    ])


def mrn_piece():
    return P("MRN", mrn())


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
    v = [R.choice("12345JKLSWZ"), R.choice("ABCFGHNT"), R.choice(alphabet)] + [R.choice(alphabet) for _ in range(14)]
    total = sum((int(c) if c.isdigit() else translit[c]) * w for c, w in zip(v, weights))
    r = total % 11
    v[8] = "X" if r == 10 else str(r)
    return "".join(v)


def iban():
    kind = R.choice(["GB", "DE", "FR", "NL", "ES"])
    if kind == "GB":
        bban = R.choice(["WEST", "BARC", "NWBK", "LOYD"]) + digits(14)
    elif kind == "DE":
        bban = digits(18)
    elif kind == "FR":
        bban = digits(10) + "".join(R.choice(string.ascii_uppercase + string.digits) for _ in range(11)) + digits(2)
    elif kind == "NL":
        bban = R.choice(["ABNA", "INGB", "RABO"]) + digits(10)
    else:
        bban = digits(20)
    num = "".join(str(int(c, 36)) for c in bban + kind + "00")
    check = 98 - int(num) % 97
    s = f"{kind}{check:02d}{bban}"
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
    raise AssertionError


def account():
    return R.choice([digits(10), digits(12), digits(8), f"{digits(4)}-{digits(6)}", "ACCT" + digits(7), digits(3) + "-" + digits(5) + "-" + digits(2)])


def mbi(dashes=None):
    a = "ACDEFGHJKMNPQRTUVWXY"
    an = a + string.digits
    s = R.choice("123456789") + R.choice(a) + R.choice(an) + R.choice(string.digits) + R.choice(a) + R.choice(an) + R.choice(string.digits) + R.choice(a) + R.choice(a) + digits(2)
    if dashes is None:
        dashes = R.random() < 0.3
    return s[:4] + "-" + s[4:7] + "-" + s[7:] if dashes else s


def member_id():
    return R.choice([
        mbi(), R.choice(["XJH", "MBR", "YPX", "ZGA", "H"]) + digits(9), "W" + digits(9),
        digits(3) + R.choice(string.ascii_uppercase) + digits(5), R.choice(["U", "A"]) + digits(8) + R.choice(["01", "02"]),
        R.choice(string.ascii_uppercase) * 2 + digits(6) + R.choice(string.ascii_uppercase),
    ])


def card(sep=None):
    prefix = R.choice(["4", "4", "51", "52", "55", "6011", "2221", "34", "37"])
    n_len = 15 if prefix in ("34", "37") else 16
    body = prefix + digits(n_len - 1 - len(prefix))
    n = luhn_complete(body)
    sep = R.choice(["", " ", "-"]) if sep is None else sep
    if n_len == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4))


def bad_luhn(n):
    while True:
        s = digits(n)
        if s[0] != "0" and not luhn_ok(s):
            return s


def imei():
    return luhn_complete(R.choice(["35", "86", "01", "99"]) + digits(12))


STATE_DL = {
    "CA": lambda: R.choice(string.ascii_uppercase) + digits(7),
    "NY": lambda: R.choice([digits(9), f"{digits(3)} {digits(3)} {digits(3)}"]),
    "OH": lambda: R.choice(string.ascii_uppercase) * 2 + digits(6),
    "FL": lambda: f"{R.choice(string.ascii_uppercase)}{digits(3)}-{digits(3)}-{digits(2)}-{digits(3)}-{digits(1)}",
    "IL": lambda: f"{R.choice(string.ascii_uppercase)}{digits(3)}-{digits(4)}-{digits(4)}",
    "TX": lambda: digits(8),
    "WA": lambda: "WDL" + "".join(R.choice(string.ascii_uppercase + string.digits) for _ in range(9)),
    "PA": lambda: f"{digits(2)} {digits(3)} {digits(3)}",
    "MI": lambda: f"{R.choice(string.ascii_uppercase)} {digits(3)} {digits(3)} {digits(3)} {digits(3)}",
    "NJ": lambda: f"{R.choice(string.ascii_uppercase)}{digits(4)} {digits(5)} {digits(5)}",
    "WI": lambda: f"{R.choice(string.ascii_uppercase)}{digits(3)}-{digits(4)}-{digits(4)}-{digits(2)}",
    "MA": lambda: "S" + digits(8),
    "CO": lambda: f"{digits(2)}-{digits(3)}-{digits(4)}",
    "AZ": lambda: R.choice("ABDY") + digits(8),
}


def driver_license():
    st = R.choice(list(STATE_DL))
    return st, STATE_DL[st]()


def passport():
    return R.choice([digits(9), R.choice("ACX") + digits(8), R.choice(string.ascii_uppercase) * 2 + digits(7), "P" + digits(7)])


def device_serial():
    return R.choice([
        R.choice(["QK", "PJN", "SN", "RNB", "BLF", "G"]) + digits(R.randint(6, 9)),
        f"{R.choice(['PM', 'ICD', 'CGM'])}{digits(4)}-{digits(4)}",
        "".join(R.choice(string.ascii_uppercase + string.digits) for _ in range(12)),
        f"{digits(2)}{R.choice(string.ascii_uppercase)}{digits(5)}{R.choice(string.ascii_uppercase)}",
    ])


def udi():
    gtin = "0" + digits(13)
    exp = f"{R.randint(24, 30):02d}{R.randint(1, 12):02d}{R.randint(1, 28):02d}"
    return f"(01){gtin}(17){exp}(10){R.choice(string.ascii_uppercase)}{digits(5)}(21){device_serial()}"


def ipv4(private=None):
    if private is None:
        private = R.random() < 0.4
    if private:
        return R.choice([f"10.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}", f"192.168.{R.randint(0, 255)}.{R.randint(1, 254)}", f"172.{R.randint(16, 31)}.{R.randint(0, 255)}.{R.randint(1, 254)}"])
    a = R.choice([23, 34, 45, 52, 63, 66, 71, 73, 98, 104, 108, 128, 131, 142, 151, 162, 174, 185, 198, 203, 209])
    return f"{a}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def ipv6():
    groups = [f"{R.randrange(65536):x}" for _ in range(8)]
    s = ":".join(groups)
    if R.random() < 0.5:
        s = f"2001:db8:{R.randrange(65536):x}::{R.randrange(65536):x}:{R.randrange(1, 65536):x}"
    if R.random() < 0.2:
        s = f"fe80::{R.randrange(65536):x}:{R.randrange(65536):x}:{R.randrange(65536):x}:{R.randrange(65536):x}"
    return s


def mac():
    b = [R.randrange(256) for _ in range(6)]
    style = R.choice(["colon", "colon", "dash", "dot", "upper"])
    if style == "colon":
        return ":".join(f"{x:02x}" for x in b)
    if style == "upper":
        return ":".join(f"{x:02X}" for x in b)
    if style == "dash":
        return "-".join(f"{x:02X}" for x in b)
    return ".".join(f"{b[i]:02x}{b[i + 1]:02x}" for i in (0, 2, 4))


DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net", "proton.me", "example.org", "mail.example.net", "stmarys-health.org", "web.de", "orange.fr", "qq.com"]


def ascii_fold(s):
    import unicodedata
    s = s.replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O").replace("đ", "d").replace("Đ", "D").replace("ı", "i")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def email(p=None):
    p = p or Person()
    f = ascii_fold(p.first).lower().replace(" ", "").replace("'", "")
    l = ascii_fold(p.last).lower().replace(" ", "").replace("'", "")
    dom = R.choice(DOMAINS)
    local = R.choice([f"{f}.{l}", f"{f[0]}{l}", f"{l}{R.randint(1, 99)}", f"{f}_{l}", f"{f}{l}{R.randint(50, 99)}", f"{f}.{l}+portal", f"{f[0]}.{l}"])
    e = f"{local}@{dom}"
    return e.upper() if R.random() < 0.05 else e


def phone(style=None):
    area = R.randint(201, 989)
    while area % 100 == 11 or area // 100 in (0, 1):
        area = R.randint(201, 989)
    ex = R.randint(200, 999)
    while ex % 100 == 11:
        ex = R.randint(200, 999)
    line = R.randint(0, 9999)
    if ex == 555:
        line = R.randint(200, 9999)
    st = style or R.choice(["paren", "paren", "dash", "dash", "dot", "plus1", "e164", "plain", "one_dash", "paren_nospace", "intl"])
    if st == "paren":
        return f"({area}) {ex}-{line:04d}"
    if st == "paren_nospace":
        return f"({area}){ex}-{line:04d}"
    if st == "dash":
        return f"{area}-{ex}-{line:04d}"
    if st == "dot":
        return f"{area}.{ex}.{line:04d}"
    if st == "plus1":
        return f"+1 {area} {ex} {line:04d}"
    if st == "e164":
        return f"+1{area}{ex}{line:04d}"
    if st == "plain":
        return f"{area}{ex}{line:04d}"
    if st == "one_dash":
        return f"1-{area}-{ex}-{line:04d}"
    return R.choice([f"+44 20 {digits(4)} {digits(4)}", f"+49 30 {digits(8)}", f"+33 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}", f"+52 55 {digits(4)} {digits(4)}", f"+91 {digits(5)} {digits(5)}"])


def phone_piece(style=None):
    return P("PHONE", phone(style))


# USPS Publication 28 street suffixes, as written out and abbreviated.
SUFFIXES = """Street St Avenue Ave Road Rd Lane Ln Drive Dr Boulevard Blvd Court Ct Way Place Pl
Terrace Ter Circle Cir Parkway Pkwy Highway Hwy Trail Trl Square Sq Loop Alley Isle Crossroad
Landing Lndg Oval Inlet Shoal Forge Villages Motorway Causeway Spur Pike Row Run Path Walk Crossing
Xing Point Pt Ridge Rdg Hollow Holw Glen Heights Hts Park Plaza Plz Commons Cove Cv Creek Crk Bend
Hill Hl Meadows Mdws Station Sta Summit Smt View Vw Vista Vis Trace Trce Expressway Expy Freeway Fwy
Junction Jct Knoll Knl Manor Mnr Mill Orchard Orch Pass Pines Ramp Ranch Rnch Shore Spring Spgs Turnpike
Tpke Valley Vly Village Vlg Wells""".split()

STREET_NAMES = ["Harper", "Maple", "Old Mill", "Cedar", "Martin Luther King Jr", "Washington", "Lakeview", "Sunset", "Pine",
                "Birch", "Highland", "Willow", "Calle Ocho", "Kamehameha", "Peachtree", "Juniper", "Fairfax", "Saint Anne",
                "Quarry", "Rio Grande", "Front", "Main", "2nd", "3rd", "14th", "Elm", "Magnolia", "Hidden Valley", "Ocean",
                "Prospect", "Beacon", "Chestnut", "Kingsbury", "Van Buren", "Dogwood", "Sycamore", "Railroad", "Church",
                "Mill Creek", "Foxglove", "Pleasant", "Tamarack", "Arroyo", "Cherokee", "Wren", "Orchard Hill"]
DIRS = ["N", "S", "E", "W", "NE", "NW", "SE", "SW", "North", "West"]
CITIES = [("Springfield", "IL", "627"), ("Boulder", "CO", "803"), ("Franklin", "TN", "370"), ("Greenville", "SC", "296"),
          ("Madison", "WI", "537"), ("Salem", "OR", "973"), ("Fairview", "PA", "165"), ("Georgetown", "TX", "786"),
          ("Toledo", "OH", "436"), ("Bakersfield", "CA", "933"), ("Duluth", "MN", "558"), ("Hilo", "HI", "967"),
          ("Tucson", "AZ", "857"), ("Worcester", "MA", "016"), ("Lansing", "MI", "489"), ("Paterson", "NJ", "075"),
          ("Bellingham", "WA", "982"), ("Savannah", "GA", "314"), ("Eau Claire", "WI", "547"), ("St. Louis", "MO", "631"),
          ("Brooklyn", "NY", "112"), ("Los Angeles", "CA", "900"), ("San Antonio", "TX", "782"), ("Coeur d'Alene", "ID", "838")]


def zip5(prefix=None):
    return (prefix or f"{R.randint(10, 999):03d}") + digits(2)


def street_line():
    """A street line: number, optional direction, name, suffix, unit."""
    r = R.random()
    if r < 0.08:
        return R.choice(["PO Box ", "P.O. Box ", "PO BOX ", "Post Office Box "]) + str(R.randint(1, 99999))
    if r < 0.13:
        return R.choice([f"{R.randint(100, 99999)} Route {R.randint(1, 99)}", f"{R.randint(100, 9999)} County Road {R.randint(1, 400)}",
                         f"RR {R.randint(1, 9)} Box {R.randint(1, 400)}", f"{R.randint(100, 99999)} State Highway {R.randint(1, 299)}",
                         f"{R.randint(10, 9999)} US-{R.randint(1, 99)}"])
    num = str(R.randint(1, 99999)) if R.random() < 0.9 else f"{R.randint(1, 999)}{R.choice('AB')}"
    parts = [num]
    if R.random() < 0.2:
        parts.append(R.choice(DIRS))
    parts.append(R.choice(STREET_NAMES))
    parts.append(R.choice(SUFFIXES))
    s = " ".join(parts)
    if R.random() < 0.12:
        s = s.upper()
    if R.random() < 0.3:
        s += R.choice([", ", " "]) + R.choice([f"Apt. {R.randint(1, 999)}", f"Apt {R.randint(1, 40)}{R.choice('ABC')}", f"Suite {R.randint(100, 999)}",
                                              f"#{R.randint(1, 40)}", f"Unit {R.choice('ABCDEF')}", f"Ste {R.randint(1, 500)}", f"Fl {R.randint(2, 30)}"])
    return s


class Address:
    def __init__(self):
        self.street = street_line()
        self.city, self.state, zp = R.choice(CITIES)
        self.zip = zip5(zp)
        self.zip4 = digits(4) if R.random() < 0.15 else None

    def zip_text(self):
        return f"{self.zip}-{self.zip4}" if self.zip4 else self.zip

    def pieces(self, sep=", "):
        """Street, city, state and ZIP as one line; street and ZIP labelled."""
        return [P("STREET_ADDRESS", self.street, sep, self.city), f", {self.state} ", P("ZIP_CODE", self.zip_text())]


def age_over_89():
    return R.randint(90, 106)


def secret_token(n=32, alphabet=string.ascii_letters + string.digits):
    return "".join(R.choice(alphabet) for _ in range(n))


def password():
    return R.choice([
        secret_token(R.randint(10, 20), string.ascii_letters + string.digits + "!#$%&*"),
        R.choice(["Summer", "Winter", "Welcome", "Clinic", "Hospital"]) + str(R.randint(2019, 2025)) + R.choice("!#$"),
        secret_token(R.randint(12, 16), string.ascii_lowercase + string.digits),
    ])


def aws_key_id():
    return R.choice(["AKIA", "ASIA"]) + secret_token(16, string.ascii_uppercase + "234567")


def aws_secret():
    return secret_token(40, string.ascii_letters + string.digits + "+/")


def jwt():
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = R.choice([b'{"alg":"HS256","typ":"JWT"}', b'{"alg":"RS256","kid":"k1","typ":"JWT"}'])
    body = json.dumps({"sub": digits(6), "iat": 1700000000 + R.randint(0, 10**7), "scope": "patient/*.read"}).encode()
    return enc(head) + "." + enc(body) + "." + enc(bytes(R.randrange(256) for _ in range(32)))


def api_token():
    return R.choice([
        "ghp_" + secret_token(36),
        "github_pat_" + secret_token(22) + "_" + secret_token(59),
        "xoxb-" + digits(12) + "-" + digits(13) + "-" + secret_token(24),
        "sk_live_" + secret_token(24),
        "rk_live_" + secret_token(24),
        "ya29." + secret_token(R.randint(60, 120), string.ascii_letters + string.digits + "-_"),
        "SG." + secret_token(22, string.ascii_letters + string.digits + "-_") + "." + secret_token(43, string.ascii_letters + string.digits + "-_"),
        "glpat-" + secret_token(20, string.ascii_letters + string.digits + "-_"),
        "AIza" + secret_token(35, string.ascii_letters + string.digits + "-_"),
        "npm_" + secret_token(36),
        "sk-" + secret_token(48),
        "AC" + secret_token(32, "0123456789abcdef"),
    ])


def session_token():
    return R.choice([secret_token(32, "0123456789abcdef"), secret_token(43, string.ascii_letters + string.digits + "-_"),
                     secret_token(26, string.ascii_lowercase + string.digits), base64.b64encode(bytes(R.randrange(256) for _ in range(24))).decode()])


# Hard negatives: identifiers and numbers that logs and notes are full of.
def uuid4():
    import uuid
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def sha(n=40):
    return secret_token(n, "0123456789abcdef")


def version():
    return R.choice([f"{R.randint(0, 9)}.{R.randint(0, 30)}.{R.randint(0, 99)}", f"v{R.randint(1, 5)}.{R.randint(0, 20)}.{R.randint(0, 9)}",
                     f"{R.randint(1, 12)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(100, 9999)}"])


def event_time(style=None):
    t = datetime.datetime(2024, R.randint(1, 12), R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999999))
    return t, t


ICD10 = ["E11.9", "I10", "J45.909", "M54.5", "F41.1", "E78.5", "N18.3", "I48.91", "Z79.4", "K21.9", "J44.1", "R07.9", "S72.001A", "O24.410", "C50.911", "G47.33", "F32.A", "Z00.00", "E66.01", "I50.22"]
CPT = ["99213", "99214", "99215", "93000", "80053", "85025", "71046", "36415", "99285", "20610", "G0439", "J1100"]
MEDS = [("metformin", "500 mg", "PO BID"), ("lisinopril", "10 mg", "PO daily"), ("atorvastatin", "40 mg", "PO qHS"), ("apixaban", "5 mg", "PO BID"),
        ("insulin glargine", "22 units", "SC qHS"), ("furosemide", "40 mg", "IV BID"), ("levothyroxine", "75 mcg", "PO daily"),
        ("amoxicillin-clavulanate", "875-125 mg", "PO BID x7d"), ("sertraline", "50 mg", "PO daily"), ("ondansetron", "4 mg", "IV q6h PRN")]


def ndc():
    return R.choice([f"{digits(5)}-{digits(4)}-{digits(2)}", f"{digits(4)}-{digits(4)}-{digits(2)}", f"{digits(5)}-{digits(3)}-{digits(2)}"])


def vitals():
    return R.choice([
        f"BP {R.randint(96, 178)}/{R.randint(52, 104)}, HR {R.randint(48, 124)}, RR {R.randint(12, 28)}, T {R.randint(960, 1034) / 10}F, SpO2 {R.randint(86, 100)}% on RA",
        f"T 37.{R.randint(0, 9)} P {R.randint(60, 110)} R {R.randint(14, 24)} BP {R.randint(100, 160)}/{R.randint(60, 95)} O2 {R.randint(90, 100)}% RA",
        f"Wt {R.randint(45, 140)}.{R.randint(0, 9)} kg, Ht {R.randint(148, 195)} cm, BMI {R.randint(18, 42)}.{R.randint(0, 9)}",
    ])


def labs():
    return R.choice([
        f"Na {R.randint(128, 146)}, K {R.randint(30, 58) / 10}, Cl {R.randint(95, 110)}, HCO3 {R.randint(18, 30)}, BUN {R.randint(6, 60)}, Cr {R.randint(5, 40) / 10}, Glu {R.randint(70, 380)}",
        f"WBC {R.randint(30, 180) / 10}, Hgb {R.randint(70, 165) / 10}, Hct {R.randint(22, 48)}.{R.randint(0, 9)}, Plt {R.randint(90, 450)}",
        f"A1c {R.randint(50, 120) / 10}%, LDL {R.randint(50, 190)} mg/dL, TSH {R.randint(3, 80) / 10} mIU/L",
        f"INR {R.randint(9, 35) / 10}, PTT {R.randint(25, 60)} sec, troponin <0.01, BNP {R.randint(20, 1800)}",
    ])


def hard_negative_sentence():
    """A sentence with numbers and codes that are not PHI."""
    return R.choice([
        vitals() + ".", labs() + ".",
        f"Dx: {R.choice(ICD10)}, {R.choice(ICD10)}. CPT {R.choice(CPT)}.",
        "Continue {} {} {}.".format(*R.choice(MEDS)),
        f"NDC {ndc()} dispensed, lot {R.choice(string.ascii_uppercase)}{digits(5)}, qty {R.randint(10, 90)}.",
        f"Order #{digits(R.randint(7, 10))} placed; invoice INV-{digits(6)}.",
        f"Room {R.randint(100, 899)}{R.choice(['', 'A', 'B'])}, bed {R.randint(1, 4)}.",
        f"EF {R.randint(20, 65)}%, LVEDD {R.randint(40, 65)} mm.",
        f"PHQ-9 score {R.randint(0, 27)}; GAD-7 {R.randint(0, 21)}.",
        f"Ref #{R.randint(100000, 999999)}; ticket {R.choice(['INC', 'CHG', 'REQ'])}{digits(7)}.",
        f"{R.randint(2, 12)} mm nodule, stable since {R.randint(2015, 2023)}.",
        f"Pain {R.randint(0, 10)}/10. Ambulating {R.randint(50, 400)} ft with walker.",
        f"LOINC {R.randint(1000, 99999)}-{R.randint(0, 9)} resulted.",
        f"Follow up in {R.randint(1, 12)} weeks.",
        f"Takes {R.randint(1, 3)} tabs q{R.choice([4, 6, 8, 12])}h; ratio 1:{R.randint(2, 20)}.",
    ])

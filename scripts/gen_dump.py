"""Write a synthetic pg_dump (one COPY table) in which every row is PHI:
the dense input of the CLI timings in BENCHMARKS.md ("Memory on large
dumps"). Deterministic; no real data.

    python3 scripts/gen_dump.py 64 /tmp/d64.sql     # size in MiB, output
"""
import random
import sys

FIRST = ["Maria", "John", "Wei", "Aisha", "Carlos", "Emma", "Liam", "Olga", "Ravi", "Sofia"]
LAST = ["Garcia", "Smith", "Chen", "Khan", "Lopez", "Brown", "Nguyen", "Ivanova", "Patel", "Rossi"]
HEADER = (
    "CREATE TABLE public.patients (\n    id integer,\n    first_name text,\n"
    "    last_name text,\n    ssn text,\n    dob date,\n    phone text,\n    email text,\n"
    "    note text,\n    amount numeric\n);\n\n"
    "COPY public.patients (id, first_name, last_name, ssn, dob, phone, email, note, amount)"
    " FROM stdin;\n"
)


def main(mib, path):
    rnd = random.Random(5)
    size = mib << 20
    with open(path, "w") as f:
        f.write(HEADER)
        written, i = 0, 0
        while written < size:
            i += 1
            fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
            ssn = f"{rnd.randint(100, 665)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}"
            dob = f"19{rnd.randint(40, 99)}-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)}"
            phone = f"(555) 01{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}"
            email = f"{fn.lower()}.{ln.lower()}{i}@example.org"
            note = f"Seen by Dr. {rnd.choice(LAST)} on 2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}."
            row = f"{i}\t{fn}\t{ln}\t{ssn}\t{dob}\t{phone}\t{email}\t{note}\t{rnd.random() * 500:.2f}\n"
            f.write(row)
            written += len(row)
        f.write("\\.\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

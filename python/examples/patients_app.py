"""A small patients API: SSNs stored encrypted in SQLite with a blind
index for lookup, the actor taken from the X-Actor header, every decrypt
audited, PHI kept out of responses and logs.

Run: PHISAFE_KEY=phisafe.key uvicorn patients_app:app (after
`phisafe keys init`). The tests build it with make_app().
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

import phisafe
from phisafe.fastapi import get_cipher, install, lifespan

SCOPE = "patients.ssn"


class PatientIn(BaseModel):
    name: str
    ssn: str


def make_app(key: str, keyring: Path, audit: Path, db: Path) -> FastAPI:
    conn = sqlite3.connect(db, check_same_thread=False)
    lock = threading.Lock()
    conn.execute(
        "CREATE TABLE IF NOT EXISTS patients ("
        "id INTEGER PRIMARY KEY, name TEXT NOT NULL, ssn TEXT NOT NULL, ssn_idx TEXT NOT NULL)"
    )
    # A demo: every call allowed. A real app passes policy="policy.toml".
    app = FastAPI(
        lifespan=lifespan(cipher=lambda: phisafe.FieldCipher(key, keyring, audit, allow_all=True))
    )
    # Responses carry names in clear here on purpose (the caller asked for
    # them); only request bodies are checked, and logged without values.
    install(app, responses="off")

    def index(cipher: phisafe.FieldCipher, ssn: str, actor: str) -> str:
        return cipher.blind_index(
            ssn, scope=SCOPE, name="ssn", normalizer="digits", bits=32, actor=actor, purpose="lookup"
        )

    @app.post("/patients", status_code=201)
    def create(
        p: PatientIn,
        x_actor: str = Header(...),
        cipher: phisafe.FieldCipher = Depends(get_cipher),
    ) -> dict[str, Any]:
        with lock:
            cur = conn.execute(
                "INSERT INTO patients (name, ssn, ssn_idx) VALUES (?, '', '')", (p.name,)
            )
            row = str(cur.lastrowid)
            sealed = cipher.encrypt_phi(p.ssn, scope=SCOPE, row=row, actor=x_actor, purpose="registration")
            conn.execute(
                "UPDATE patients SET ssn = ?, ssn_idx = ? WHERE id = ?",
                (sealed, index(cipher, p.ssn, x_actor), row),
            )
            conn.commit()
        return {"id": int(row)}

    @app.get("/patients/{pid}")
    def read(
        pid: int,
        x_actor: str = Header(...),
        cipher: phisafe.FieldCipher = Depends(get_cipher),
    ) -> dict[str, Any]:
        with lock:
            hit = conn.execute("SELECT name, ssn FROM patients WHERE id = ?", (pid,)).fetchone()
        if hit is None:
            raise HTTPException(404)
        ssn = cipher.decrypt_phi(hit[1], scope=SCOPE, row=str(pid), actor=x_actor, purpose="treatment")
        return {"id": pid, "name": hit[0], "ssn_last4": str(ssn)[-4:]}

    @app.get("/patients")
    def find(
        ssn: str,
        x_actor: str = Header(...),
        cipher: phisafe.FieldCipher = Depends(get_cipher),
    ) -> list[int]:
        with lock:
            rows = conn.execute(
                "SELECT id, ssn FROM patients WHERE ssn_idx = ?", (index(cipher, ssn, x_actor),)
            ).fetchall()
        # The index is truncated: confirm each candidate by decrypting.
        digits = "".join(c for c in ssn if c.isdigit())
        return [
            pid
            for pid, sealed in rows
            if "".join(
                c
                for c in str(cipher.decrypt_phi(sealed, scope=SCOPE, row=str(pid), actor=x_actor, purpose="lookup"))
                if c.isdigit()
            )
            == digits
        ]

    return app

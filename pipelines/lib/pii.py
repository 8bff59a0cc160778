"""Personal data: what counts as it, and how it is removed before anything is written.

Names, phone numbers, e-mail and addresses are dropped. The citizen ID is replaced by a keyed
hash (HMAC-SHA256), so that distinct applicants can still be counted without the ID in clear.
"""

from __future__ import annotations

import hmac
import os

from pipelines.lib.field_names import pascal

# Canonical (PascalCase) field names of the applicant's personal data in the dossier payload.
PERSONAL_FIELDS = ("ChuHoSo", "SoDienThoai", "Email", "DiaChi")
PERSONAL_ID_FIELD = "MaDoiTuong"
HASH_KEY_ENV = "EGOV_HASH_KEY"
# Documented demo key for `make run` and the tests; a production run refuses to start with it.
DEMO_HASH_KEY = "demo-key-not-for-production"


class MissingHashKey(RuntimeError):
    pass


def hash_key_from_env(*, allow_demo: bool) -> bytes:
    """The HMAC key from EGOV_HASH_KEY; the demo key only where the caller allows it."""
    key = os.environ.get(HASH_KEY_ENV, "")
    if key and (allow_demo or key != DEMO_HASH_KEY):
        return key.encode()
    if allow_demo:
        return DEMO_HASH_KEY.encode()
    raise MissingHashKey(
        f"{HASH_KEY_ENV} is not set (or is the demo key): production runs need a secret key to "
        "hash applicants' ID numbers. Set it to a long random secret, e.g. `openssl rand -hex 32`."
    )


def hash_personal_id(value: object, key: bytes) -> str:
    return hmac.digest(key, str(value).strip().encode(), "sha256").hex()


def strip_personal_data(record: dict, key: bytes) -> dict:
    """A copy of a raw record safe to keep in quarantine: personal fields gone, ID hashed.

    Works on any casing of the field names (agencies differ), on the top level, where the
    payload carries them.
    """
    clean = {}
    for field, value in record.items():
        canonical = pascal(field)
        if canonical in PERSONAL_FIELDS:
            continue
        if canonical == PERSONAL_ID_FIELD:
            clean["applicant_id_hash"] = hash_personal_id(value, key) if value not in (None, "") else None
            continue
        clean[field] = value
    return clean

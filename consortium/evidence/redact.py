"""The jurors' copy of a disputed claim's evidence: personal fields removed.

Jurors decide whether the case is covered; they need the diagnosis, not who the claimant is.
JSON files lose the personal fields below (at any depth); files named by the investigator are
withheld whole (a scan of an identity card has no fields to remove). Everything else is passed
through unchanged, so a juror can check it against the root on chain.
"""

from __future__ import annotations

import json

from .bundle import Bundle

PERSONAL_FIELDS = frozenset(
    {
        "name",
        "full_name",
        "patient",
        "patient_name",
        "national_id",
        "id_number",
        "identity",
        "phone",
        "email",
        "address",
        "birth_date",
        "date_of_birth",
        "account",
        "member",
    }
)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k.lower() not in PERSONAL_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def redact(bundle: Bundle, withhold: set[str] = frozenset()) -> Bundle:
    unknown = set(withhold) - set(bundle.files)
    if unknown:
        raise ValueError(f"no evidence file named {', '.join(sorted(unknown))}")
    files, redacted = {}, []
    for name, data in bundle.files.items():
        if name in withhold:
            redacted.append(name)
            continue
        if name.lower().endswith(".json"):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if parsed is not None:
                stripped = _strip(parsed)
                if stripped != parsed:
                    data = json.dumps(stripped, indent=2, ensure_ascii=False).encode()
                    redacted.append(name)
        files[name] = data
    # untouched files keep their salt (their leaves match the chain); changed ones get fresh salts,
    # so a juror cannot test guesses of the removed fields against the original leaf
    kept = {name: bundle.salts[name] for name in files if name not in redacted}
    return Bundle(files, "jury", bundle.manifest, tuple(sorted(redacted)), kept)

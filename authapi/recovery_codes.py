"""Recovery codes: 80 random bits each, written as 16 base32 characters in groups of four.

Shown once when issued, stored only as HMACs (authapi/secret_box.py), spent on use.
"""

from __future__ import annotations

import base64
import secrets

CODES_PER_SET = 10
CODE_BYTES = 10  # 80 bits: 16 base32 characters
GROUP = 4


def new_codes() -> list[str]:
    """Return a fresh set of recovery codes, as the user is shown them."""
    return [
        _grouped(base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode())
        for _ in range(CODES_PER_SET)
    ]


def normalized(code: str) -> str:
    """Return a code as it is MACed: upper case, without the dashes and spaces a user adds."""
    return "".join(code.split()).replace("-", "").upper()


def _grouped(code: str) -> str:
    return "-".join(code[start : start + GROUP] for start in range(0, len(code), GROUP))

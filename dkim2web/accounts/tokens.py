"""Secrets that are shown once and stored only as their SHA-256 (API tokens, share links).

A secret is looked up by its hash, so the database never compares the secret itself and a
stolen table does not hand out working tokens. The secrets have 192 bits or more of entropy,
so an unsalted SHA-256 is enough: there is nothing to guess by brute force.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX_LENGTH = 8  # shown in the UI so a user can tell their tokens apart


def new_secret(nbytes: int) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:PREFIX_LENGTH]

"""The MIME walk lives in the engine (:mod:`analysis.mime`); the mailbox uses it from there."""

from __future__ import annotations

from analysis.mime import (
    MAX_DEPTH,
    MAX_HEADER_BYTES,
    MAX_PARTS,
    MESSAGE_TYPES,
    Decoded,
    Entity,
    Walk,
    decode_body,
    header_block,
    read_entity,
    walk,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_HEADER_BYTES",
    "MAX_PARTS",
    "MESSAGE_TYPES",
    "Decoded",
    "Entity",
    "Walk",
    "decode_body",
    "header_block",
    "read_entity",
    "walk",
]

"""The signer: originator, forwarder and reviser signing (S06 §9; SPEC-NOTES §7).

* Originator: the message has no DKIM2 fields; add ``Message-Instance: m=1``
  and ``DKIM2-Signature: i=1``.
* Forwarder: the message already carries DKIM2 fields and its content still
  matches the newest Message-Instance; add only a DKIM2-Signature with
  ``i=`` one higher and ``m=`` the newest instance (S06 §9.1, §9.2).
* Reviser: the content changed since the newest instance; given the message as
  it arrived (``previous``), compute the recipe that undoes the change, add
  ``Message-Instance m=max+1`` with ``r=``, then the DKIM2-Signature.

The ``revision`` (default: the newest, -09) decides the rules the signature follows
(:mod:`analysis.dkim2.revisions`): the unsigned-field list of its header hashes, whether
keys may form ``|`` groups and ML-DSA-44 may be used (-08), the recipe grammar ("u" steps
for octets that are not UTF-8, -07), and what it refuses: the removed requests
``donotmodify``/``donotexplode`` (-07), ``f=exploded`` on a first signature and a null body
recipe (-09), and a From the signing domain is not Authentic for (-07 on; SPEC-09-NOTES 1.7).
The rule that a hop signs only a chain that fully verified (-08) needs DNS, which the
signer does not do: its caller verifies first.

New fields are prepended, DKIM2-Signature above Message-Instance, above the
existing fields (SPEC-NOTES §2.4).  Layout: ``i= m= t= d=`` on the first line,
``mf= rt=`` (or ``nd=``) on the second, ``n= f= s=`` on the third; signature
values longer than 128 characters are folded in 64-character pieces (FWS is
ignored by the signing input, S06 §9.6).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..message import Body, HeaderField, ParsedMessage, parse_message
from .authentic import AUTHENTIC, NEEDS_POLICY, compare, from_domains
from .canonical import header_hash_input, signing_input
from .fields import MI_NAME, SIG_NAME, parse_message_instance, parse_signature
from .grammar import GrammarError, normalise_envelope_address
from .keys import PrivateKey, algorithm_for_private_key, sign_bytes
from .recipes import Recipe, RecipeError, compute_recipe, decode_recipe
from .revisions import NEWEST, Revision, get


class SigningError(ValueError):
    """The message cannot be signed as asked (the text says why)."""


@dataclass(frozen=True)
class SigningKey:
    selector: str
    private_key: PrivateKey

    @property
    def algorithm(self) -> str:
        return algorithm_for_private_key(self.private_key)


@dataclass(frozen=True)
class SignResult:
    message: bytes
    role: str  # "originator", "forwarder" or "reviser"
    instance: int  # m= of the signature
    hop: int  # i= of the signature
    recipe: Recipe | None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _path(addr: str, *, allow_null: bool) -> str:
    try:
        return normalise_envelope_address(addr, allow_null=allow_null).text
    except GrammarError as exc:
        raise SigningError(str(exc)) from exc


def _fold_signature(sig: str) -> str:
    if len(sig) <= 128:
        return sig
    pieces = [sig[i : i + 64] for i in range(0, len(sig), 64)]
    return "\r\n  ".join(pieces)


def _existing(
    msg: ParsedMessage,
) -> tuple[dict[int, HeaderField], dict[int, HeaderField], int, int]:
    mis: dict[int, HeaderField] = {}
    sigs: dict[int, HeaderField] = {}
    top_m = top_i = 0
    for f in msg.fields:
        if f.lname == MI_NAME:
            mi, problems = parse_message_instance(f, groups=True)
            if mi is None:
                raise SigningError(
                    f"existing Message-Instance cannot be parsed: {problems[0].detail}"
                )
            mis[mi.instance] = f
            top_m = max(top_m, mi.instance)
        elif f.lname == SIG_NAME:
            sig, problems = parse_signature(f, allow_bare_addresses=True, groups=True)
            if sig is None:
                raise SigningError(
                    f"existing DKIM2-Signature cannot be parsed: {problems[0].detail}"
                )
            sigs[sig.hop] = f
            top_i = max(top_i, sig.hop)
    return mis, sigs, top_m, top_i


def _hashes(
    fields: list[HeaderField],
    body: Body,
    groups: Sequence[Sequence[str]],
    revision: Revision,
) -> str:
    hinput = header_hash_input(fields, revision.unsigned_fields, revision.unsigned_prefixes)
    return "|".join(
        ",".join(
            f"{alg}:{_b64(hashlib.new(alg, hinput).digest())}:{_b64(body.hash(alg))}"
            for alg in group
        )
        for group in groups
    )


def _check_rules(
    revision: Revision,
    key_groups: Sequence[Sequence[SigningKey]],
    hash_groups: Sequence[Sequence[str]],
    flags: Sequence[str],
    body_unrecoverable: bool,
    first: bool,
) -> None:
    """Refuse what the revision does not allow (each message names the rule)."""
    if (len(key_groups) > 1 or len(hash_groups) > 1) and not revision.groups:
        raise SigningError(
            f"signature and hash groups ('|') exist from -08; {revision.label} has one group"
        )
    for group in key_groups:
        for k in group:
            if k.algorithm not in revision.signature_algorithms:
                raise SigningError(
                    f"{k.algorithm} is not an algorithm of {revision.label} "
                    f"({', '.join(sorted(revision.signature_algorithms))})"
                )
    if not revision.request_flags:
        removed = [f for f in flags if f.lower() in ("donotmodify", "donotexplode")]
        if removed:
            raise SigningError(
                f"{', '.join(removed)}: -07 removed the donotmodify and donotexplode requests "
                f"(SPEC-09-NOTES 1.5); {revision.label} signers do not set them"
            )
    if revision.exploded_not_first and first and "exploded" in (f.lower() for f in flags):
        raise SigningError(
            "f=exploded is never set on a first signature (-09 §12.5, SPEC-09-NOTES 1.14)"
        )
    if revision.null_body == "permerror" and body_unrecoverable:
        raise SigningError(
            f"a null body recipe is a PERMERROR under {revision.label} (SPEC-09-NOTES 1.6): "
            "keep the earlier body recoverable, or sign by -08 rules"
        )


def _check_from(revision: Revision, fields: list[HeaderField], domain: str) -> None:
    """-07 on (SPEC-09-NOTES 1.7): the hop that puts a From in the message signs it only if
    the From domain is its d= or below it."""
    if not revision.from_authentic:
        return
    domains, problem = from_domains(fields)
    if not domains:
        raise SigningError(f"From-Authentic cannot be checked: {problem}")
    for fd in domains:
        outcome = compare(fd, domain.lower())
        if outcome == AUTHENTIC:
            continue
        if outcome == NEEDS_POLICY:
            raise SigningError(
                f"From header field is not Authentic for d={domain}: d= is below the From "
                f"domain {fd}, which needs {fd}'s Domain Policy Record (not public yet)"
            )
        raise SigningError(f"From header field is not Authentic for d={domain}")


def sign(
    message: bytes,
    *,
    domain: str,
    keys: Sequence[SigningKey] = (),
    timestamp: int,
    mail_from: str | None = None,
    rcpt_to: Sequence[str] = (),
    next_domain: str | None = None,
    previous: bytes | None = None,
    flags: Sequence[str] = (),
    nonce: str | None = None,
    hash_algorithms: Sequence[str] = ("sha256",),
    body_unrecoverable: bool = False,
    revision: str | Revision = NEWEST,
    key_groups: Sequence[Sequence[SigningKey]] = (),
    hash_groups: Sequence[Sequence[str]] = (),
) -> SignResult:
    """Sign ``message`` for one hop.  See the module docstring for the roles.

    ``keys``: one group, every signature of which must pass; ``key_groups``: alternative
    groups (-08 on), written with ``|`` between them.  ``hash_groups`` likewise for ``h=``
    (default: ``hash_algorithms`` as one group)."""
    rev = revision if isinstance(revision, Revision) else get(revision)
    groups: list[list[SigningKey]] = [list(g) for g in key_groups if g]
    if keys:
        groups.insert(0, list(keys))
    if not groups:
        raise SigningError("at least one signing key is needed")
    hgroups = [list(g) for g in hash_groups if g] or [list(hash_algorithms)]
    if next_domain is None and (mail_from is None or not rcpt_to):
        raise SigningError("a signature needs mail_from and rcpt_to, or next_domain (S06 §8)")
    if next_domain is not None and (mail_from is not None or rcpt_to):
        raise SigningError("next_domain replaces mail_from/rcpt_to; give one form (S06 §8.7)")
    if nonce is not None and len(nonce) > 64:
        raise SigningError("a nonce may be at most 64 characters (S06 §8.3)")
    msg = parse_message(message)
    if msg.fatal:
        raise SigningError(msg.findings[-1].detail)
    mis, sigs, top_m, top_i = _existing(msg)
    _check_rules(rev, groups, hgroups, flags, body_unrecoverable, first=not sigs)
    fields, body = msg.fields, msg.body
    new_fields: list[bytes] = []
    recipe: Recipe | None = None
    m = top_m
    if not mis:
        role = "originator"
        m = 1
        _check_from(rev, fields, domain)
        mi_field = f"Message-Instance: m=1; h={_hashes(fields, body, hgroups, rev)};\r\n"
        new_fields.append(mi_field.encode())
    else:
        current_hash = _hashes(fields, body, hgroups, rev)
        top_mi, _ = parse_message_instance(mis[top_m], groups=True)
        assert top_mi is not None
        recorded = {(h.algorithm, h.header_hash_b64, h.body_hash_b64) for h in top_mi.hashes}
        now_hashes = {tuple(x.split(":")) for x in current_hash.replace("|", ",").split(",")}
        unchanged = now_hashes <= recorded
        if unchanged and not body_unrecoverable:
            role = "forwarder"
        else:
            role = "reviser"
            if previous is None and not body_unrecoverable:
                raise SigningError(
                    "the content no longer matches the newest Message-Instance: pass the message "
                    "as it arrived (previous) so the recipe can be computed"
                )
            prev = parse_message(previous) if previous is not None else msg
            recipe = compute_recipe(
                prev.fields,
                prev.body,
                fields,
                body,
                body_unrecoverable=body_unrecoverable,
                grammar=rev.recipe_grammar,
                is_unsigned=rev.is_unsigned,
            )
            if recipe is None:
                role = "forwarder"
            else:
                if recipe.headers and "from" in recipe.headers:
                    _check_from(rev, fields, domain)
                try:
                    encoded = recipe.encode()
                    # What a verifier of this revision will read back: a literal holding a
                    # bare CR or LF, for one, is not a valid recipe.
                    decode_recipe(encoded, grammar=rev.recipe_grammar)
                except UnicodeEncodeError as exc:
                    raise SigningError(
                        "a changed line is not UTF-8 and cannot be carried in a JSON literal "
                        f'under {rev.label} (the "u" step exists from -07); sign with '
                        "body_unrecoverable=True (null body recipe, SPEC-NOTES §11 A35)"
                    ) from exc
                except RecipeError as exc:
                    raise SigningError(
                        f"the recipe for this change would not be valid: {exc}; sign with "
                        "body_unrecoverable=True where the revision allows a null body recipe"
                    ) from exc
                r = _b64(encoded)
                m = top_m + 1
                mi_field = f"Message-Instance: m={m}; h={current_hash};\r\n r={r};\r\n"
                new_fields.append(mi_field.encode())
    hop = top_i + 1
    if next_domain is not None:
        route = f" nd={next_domain};"
    else:
        mf = _b64(_path(mail_from or "", allow_null=True).encode())
        rt = ",".join(_b64(_path(a, allow_null=False).encode()) for a in rcpt_to)
        route = f" mf={mf}; rt={rt};"
    extras = ""
    if nonce is not None:
        extras += f"n={nonce}; "
    if flags:
        extras += f"f={','.join(flags)}; "
    empty_sets = "|".join(",".join(f"{k.selector}:{k.algorithm}:" for k in g) for g in groups)
    head = f"DKIM2-Signature: i={hop}; m={m}; t={timestamp}; d={domain};\r\n{route}\r\n {extras}s="
    unsigned = HeaderField("DKIM2-Signature", (head + empty_sets + ";\r\n").encode())
    # S06 §9.6: the Message-Instance fields up to m, the earlier signatures, then this one.
    all_mis = dict(mis)
    if new_fields and role != "forwarder":
        new_mi = HeaderField("Message-Instance", new_fields[0])
        all_mis[m] = new_mi
    data = signing_input(
        [all_mis[k] for k in sorted(all_mis) if k <= m],
        [sigs[k] for k in sorted(sigs)],
        unsigned,
    )
    written = []
    for g in groups:
        sets = []
        for k in g:
            value = _b64(sign_bytes(k.algorithm, k.private_key, data))
            sets.append(f"{k.selector}:{k.algorithm}:{_fold_signature(value)}")
        written.append(",".join(sets))
    sig_field = (head + "|".join(written) + ";\r\n").encode()
    out = sig_field + b"".join(new_fields) + msg.normalised
    return SignResult(out, role, m, hop, recipe)

"""Revisions: signature and hash groups, unknown algorithms, '|' under -06, ML-DSA-44, and
rules that changed between drafts (analysis.dkim2.revisions; SPEC-09-NOTES).

The same bytes are judged by several revisions where the rules differ: auto (-09, with the
older ones compared) and a fixed revision.
"""

from __future__ import annotations

from tests.support import chains
from tests.support.chains import SIG, resign, set_tag

from .model import Case, E, Expect
from .world import (
    API,
    INTAKE,
    NOW,
    UPLOAD,
    WEB,
    Builder,
    author,
    chain,
    mailing_list,
    one_hop,
)

PASS = E("pass", v="pass")


def build() -> list[Case]:
    b = Builder("revisions")

    def judged(
        name: str,
        title: str,
        signed: chains.Chain,
        outcomes: dict[str, Expect],
        raw: bytes | None = None,
        *,
        paths: frozenset[str] = frozenset(),
        rcpt_to: tuple[str, ...] | None = None,
    ) -> None:
        """``signed`` (or ``raw``, made from it) judged by each revision of ``outcomes``;
        the web paths take the auto case only."""
        for revision, expect in outcomes.items():
            suffix = "" if revision == "auto" else f"-rev{revision}"
            b.add(
                name + suffix,
                title + ("" if revision == "auto" else f" (judged by -{revision} rules)"),
                signed.message if raw is None else raw,
                expect,
                of=signed,
                revision=revision,
                rcpt_to=rcpt_to,
                paths=paths if revision == "auto" else (),
            )

    groups = one_hop(selectors=("ed1",), selector_groups=[["pq1"]])
    judged(
        "signature-groups",
        "s= with two groups, ed1 | pq1 (-08 on)",
        groups,
        {
            "auto": E("pass", v="pass"),
            "06": E(
                "permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"
            ),
            "07": E(
                "permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"
            ),
            "08": E("pass", v="pass"),
        },
        paths=WEB,
    )
    three = one_hop(selectors=("ed1", "rsa1"), selector_groups=[["pq1"]])
    judged(
        "signature-groups-rsa-and-ed25519",
        "s= ed1,rsa1 | pq1",
        three,
        {"auto": E("pass", v="pass")},
    )
    hashes = one_hop(hash_groups=[["sha256"], ["sha512"]])
    judged(
        "hash-groups",
        "h= with two groups, sha256 | sha512 (-08 on)",
        hashes,
        {
            "auto": E("pass", v="pass"),
            "06": E(
                "permerror", "mi.syntax", "PERMERROR Message-Instance m=1 syntax error", v="fail"
            ),
        },
    )
    both = one_hop(hashes=("sha256", "sha512"))
    judged(
        "hash-set-two-algorithms",
        "h= sha256 and sha512 in one group",
        both,
        {"auto": E("pass", v="pass")},
    )
    sha512 = one_hop(hashes=("sha512",))
    judged("hash-sha512-only", "h= sha512 alone", sha512, {"auto": E("pass", v="pass")})

    ed = one_hop()
    s1 = chains.get_tag(ed.message, SIG, 1, "s")
    sel, _, sig = s1.split(":")
    unknown_alone = set_tag(ed.message, SIG, 1, "s", f"{sel}:frob-sha256:{sig}")
    judged(
        "unknown-algorithm-alone",
        "s= names only an unknown algorithm",
        ed,
        {
            "auto": E(
                "permerror",
                "sig.unknown-algorithm-in-group",
                "PERMERROR DKIM2-Signature i=1 ed1 uses unknown algorithm frob-sha256",
                v="fail",
            ),
            "06": E(
                "permerror",
                "sig.no-verifiable-signature",
                "PERMERROR DKIM2-Signature i=1 has no signature this verifier can check",
                v="fail",
            ),
        },
        raw=unknown_alone,
    )
    beside = resign(set_tag(ed.message, SIG, 1, "s", f"{s1},ed2:frob-sha256:{sig}"))
    judged(
        "unknown-algorithm-beside-known",
        "a known and an unknown algorithm in one group",
        ed,
        {
            "auto": E(
                "permerror",
                "sig.unknown-algorithm-in-group",
                "PERMERROR DKIM2-Signature i=1 ed2 uses unknown algorithm frob-sha256",
                v="fail",
            ),
            "06": E("pass", v="pass"),
        },
        raw=beside,
    )
    alternative = resign(set_tag(ed.message, SIG, 1, "s", f"ed2:frob-sha256:{sig}|{s1}"))
    judged(
        "unknown-algorithm-group-and-valid-group",
        "a group of an unknown algorithm, then a valid group",
        ed,
        {
            "auto": E("pass", v="pass"),
            "06": E(
                "permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"
            ),
        },
        raw=alternative,
        paths=API,
    )
    pipe_06 = one_hop(selectors=("ed1",), selector_groups=[["ed2"]])
    judged(
        "pipe-in-s",
        "'|' in s= (groups) read by each revision",
        pipe_06,
        {
            "06": E(
                "permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"
            ),
            "07": E(
                "permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"
            ),
        },
    )

    pq = one_hop(selectors=("pq1",))
    judged(
        "mldsa44",
        "an ML-DSA-44 signature",
        pq,
        {
            "auto": E("pass", v="pass"),
            "06": E(
                "permerror",
                "sig.no-verifiable-signature",
                "PERMERROR DKIM2-Signature i=1 has no signature this verifier can check",
                v="fail",
            ),
            "07": E(
                "permerror",
                "sig.no-verifiable-signature",
                "PERMERROR DKIM2-Signature i=1 has no signature this verifier can check",
                v="fail",
            ),
            "08": E("pass", v="pass"),
        },
        paths=INTAKE,
    )
    rsa_ed = one_hop(selectors=("ed1", "rsa1"))
    judged(
        "ed25519-and-rsa",
        "Ed25519 and RSA in one group (both must pass)",
        rsa_ed,
        {"auto": PASS, "06": E("pass", v="pass")},
    )
    # Signature values are not part of what is signed, so no re-signing is needed.
    s_rsa_ed = chains.get_tag(rsa_ed.message, SIG, 1, "s")
    bad_second = set_tag(rsa_ed.message, SIG, 1, "s", _break_entry(s_rsa_ed, 1))
    judged(
        "group-with-one-bad-signature",
        "Ed25519 passes, RSA does not, in one group",
        rsa_ed,
        {
            "auto": E(
                "fail",
                "sig.incorrect",
                "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature",
                v="fail",
            ),
            "06": E(
                "fail",
                "sig.partial",
                "FAIL: DKIM2-Signature i=1 ed1 signature passed, rsa1 signature failed",
                v="fail",
            ),
        },
        raw=bad_second,
    )

    # -- rules that moved between drafts -----------------------------------------------------------
    auto_submitted = one_hop(
        chains.message([*chains.DEFAULT_HEADERS, ("Auto-Submitted", "auto-generated")]),
        revision="06",
    )
    changed = auto_submitted.message.replace(b"auto-generated", b"auto-replied")
    judged(
        "auto-submitted-changed",
        "Auto-Submitted changed after a -06 signer signed (-06 leaves it unsigned, -08 signs it)",
        auto_submitted,
        {
            "auto": E(
                "fail",
                "hash.header-mismatch",
                "FAIL: Message Instance m=1 header hash sha256 mismatch",
                v="fail",
            ),
            "06": E("pass", v="pass"),
        },
        raw=changed,
        paths=UPLOAD,
    )
    judged(
        "auto-submitted-06-signer",
        "Auto-Submitted left unsigned by a -06 signer",
        auto_submitted,
        {
            "auto": E(
                "fail",
                "hash.header-mismatch",
                "FAIL: Message Instance m=1 header hash sha256 mismatch",
                v="fail",
            ),
            "06": E("pass", v="pass"),
            "08": E(
                "fail",
                "hash.header-mismatch",
                "FAIL: Message Instance m=1 header hash sha256 mismatch",
                v="fail",
            ),
        },
    )
    mixed = chain(
        chains.message(),
        [
            author("<list@lists.example.org>", revision="06"),
            mailing_list(modify=chains.append_body("footer")),
        ],
    )
    judged(
        "mixed-06-then-09",
        "a -06 originator, then a -09 list",
        mixed,
        {"auto": E("pass", v="pass"), "06": E("pass", v="pass")},
    )
    replay = one_hop()
    judged(
        "custody-failure",
        "the signed message delivered to an address rt= does not name",
        replay,
        {
            "auto": E(
                "fail",
                "custody.rcpt-to-mismatch",
                "FAIL: DKIM2-Signature i=1 RCPT TO <other@example.net> did not match",
                v="fail",
            ),
            "06": E(
                "permerror",
                "custody.rcpt-to-mismatch",
                "PERMERROR: DKIM2-Signature i=1 RCPT TO <other@example.net> did not match",
                v="fail",
            ),
        },
        rcpt_to=("<other@example.net>",),
    )
    future = one_hop(timestamp=NOW + 10 * 86400)
    judged(
        "timestamp-from-the-future",
        "t= ten days after the verification clock",
        future,
        {
            "auto": E(
                "fail",
                "sig.from-future",
                "FAIL: DKIM2-Signature i=1 timestamp is in the future",
                v="fail",
            ),
            "06": E("pass", v="pass"),
        },
    )
    donotmodify = chain(
        chains.message(),
        [
            author("<list@lists.example.org>", revision="06", flags=("donotmodify",)),
            mailing_list(modify=chains.append_body("footer"), revision="06"),
        ],
    )
    judged(
        "donotmodify-then-modified",
        "f=donotmodify on hop 1, then the list changed the body",
        donotmodify,
        {
            "auto": E("pass", v="pass"),
            "06": E(
                "fail",
                "request.donotmodify",
                "FAIL: Message has been modified despite a donotmodify request",
                v="fail",
            ),
        },
    )
    return b.cases


def _break_entry(s: str, index: int) -> str:
    """``s`` with the signature of entry ``index`` (0-based) changed in its first character:
    still canonical base64 of the same length, no longer the signature."""
    entries = s.split(",")
    sel, alg, sig = entries[index].split(":")
    entries[index] = f"{sel}:{alg}:{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"
    return ",".join(entries)

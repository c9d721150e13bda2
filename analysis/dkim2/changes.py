"""What changed an instance whose body or header hash fails, when no recipe says why.

After the walk (:mod:`analysis.dkim2.reconstruct`) every instance carries its hash checks.
A part (body or header) whose every check failed was changed in a way no recipe records
(S06 §5: a hop that changes the message adds a Message-Instance whose recipe undoes it).
For each such instance, newest first, :mod:`analysis.change_search` tries the usual edits
and hashes each undo exactly as the walk did: :meth:`analysis.message.Body.hash` for the
body (S06 §6.1) and :func:`analysis.dkim2.canonical.header_hash` under the judging
revision's unsigned-field rules for the header (S06 §6.2).

Interpretations chosen:

* Before any edit, a header hash is tried under each other revision's unsigned-field rules:
  when one matches, nothing changed the header fields -- the signer followed other rules
  (the revisions section says which rule splits them) -- and the result says so
  ("revision-rules").
* Who to name: the last hop whose ``m=`` is the instance vouched for it, so the change came
  after that hop signed.  For the instance as received, that hop or a system after it made
  the change; for a rebuilt one, the hop that recorded the next instance passed it on
  without a recipe that undoes it.
* One search budget per message (:class:`~analysis.change_search.SearchBudget`), spent
  newest instance first.
"""

from __future__ import annotations

from ..change_search import ChangeSearch, Context, Edit, SearchBudget, search_body, search_header
from ..message import Body, HashMemo, HeaderField
from .canonical import header_hash
from .fields import KNOWN_HASHES, HashSet
from .report import Instance
from .revisions import ORDER, REVISIONS, Revision
from .walk import Walk

__all__ = ["search_changes"]


def search_changes(walk: Walk, budget: SearchBudget | None = None) -> None:
    """Attach a change search to every instance of ``walk`` with a failing body or header
    hash (``Instance.change_searches``)."""
    budget = budget if budget is not None else SearchBudget()
    prep = walk.prep
    revision = prep.options.revision
    memo = HashMemo()  # this search's own: candidate bodies are not the walk's to keep
    for m in sorted(walk.instances, reverse=True):
        inst = walk.instances[m]
        mi = prep.instances.get(m)
        if mi is None or m == 0:
            continue
        for part in ("body", "header"):
            target = _failing(inst, mi.hashes, part)
            if target is None:
                continue
            if part == "body" and inst.body is not None:
                inst.change_searches.append(_body(walk, inst, target, budget, memo))
            elif part == "header":
                inst.change_searches.append(_header(walk, inst, target, revision, budget))


def _failing(inst: Instance, hashes: list[HashSet], part: str) -> HashSet | None:
    """The first hash set whose ``part`` hash fails, when no check of that part matched
    (with -08 groups, one matching group is enough: then nothing is searched)."""
    checks = [c for c in inst.checks if c.part == part]
    if not checks or any(c.match is not False for c in checks):
        return None
    failed = {(c.algorithm, c.expected) for c in checks}
    for hs in hashes:
        expected = hs.body_hash_b64 if part == "body" else hs.header_hash_b64
        if hs.algorithm in KNOWN_HASHES and (hs.algorithm, expected) in failed:
            return hs
    return None


def _who(walk: Walk, inst: Instance) -> tuple[str, str]:
    """(after whom the change came, who made it), in words."""
    sigs = walk.prep.signatures
    m = inst.instance
    vouchers = sorted(i for i, s in sigs.items() if s.instance == m)
    if vouchers:
        last = vouchers[-1]
        name = f"hop {last} ({sigs[last].domain})"
        after = (
            f"{name} signed Message-Instance m={m}"
            if len(vouchers) == 1
            else f"{name}, the last hop to vouch for Message-Instance m={m}, signed it"
        )
    else:
        name = "the hop that recorded it"
        after = f"Message-Instance m={m} was recorded"
    if not inst.reconstructed:
        culprit = (
            f"{name} after signing, or a mail system after it, without recording it (a hop "
            "that changes a message adds a Message-Instance whose recipe undoes the change)"
        )
        return after, culprit
    nxt = walk.introducers().get(m + 1)
    if nxt is not None and nxt in sigs:
        culprit = (
            f"hop {nxt} ({sigs[nxt].domain}), or a system before it, since hop {nxt} recorded "
            f"Message-Instance m={m + 1} with a recipe that does not undo it"
        )
    else:
        culprit = f"a mail system after {name}, without recording it"
    return after, culprit


def _body(
    walk: Walk, inst: Instance, target: HashSet, budget: SearchBudget, memo: HashMemo
) -> ChangeSearch:
    assert inst.body is not None
    after, culprit = _who(walk, inst)
    want, algorithm = target.body_hash, target.algorithm

    def matches(candidate: Body) -> bool:
        return candidate.hash(algorithm, memo) == want

    context = Context(
        after=after,
        hash_words=f"the body hash Message-Instance m={inst.instance} records",
        culprit=culprit,
        received=not inst.reconstructed,
    )
    return search_body(inst.body, matches, fields=inst.fields, budget=budget, context=context)


def _header(
    walk: Walk, inst: Instance, target: HashSet, revision: Revision, budget: SearchBudget
) -> ChangeSearch:
    after, culprit = _who(walk, inst)
    want, algorithm = target.header_hash, target.algorithm
    fields = inst.fields
    hash_words = f"the header hash Message-Instance m={inst.instance} records"
    by_rules = _other_rules(fields, algorithm, want, revision, budget)
    if by_rules is not None:
        hop = walk.introducers().get(inst.instance)
        sigs = walk.prep.signatures
        signer = f"hop {hop} ({sigs[hop].domain})" if hop in sigs else "its signer"
        return by_rules(signer, hash_words)
    rules = (revision.unsigned_fields, revision.unsigned_prefixes)

    def matches(candidate: list[HeaderField]) -> bool:
        return header_hash(candidate, algorithm, *rules) == want

    context = Context(after, hash_words, culprit, received=not inst.reconstructed)
    return search_header(
        fields,
        matches,
        is_unsigned=revision.is_unsigned,
        body=inst.body,
        budget=budget,
        context=context,
    )


class _ByRules:
    """A header hash that matches under other revisions' unsigned-field rules."""

    def __init__(
        self, labels: list[str], left_out: list[str], included: list[str], judge: Revision
    ) -> None:
        self.labels, self.left_out, self.included, self.judge = labels, left_out, included, judge

    def __call__(self, signer: str, hash_words: str) -> ChangeSearch:
        labels = " and ".join(self.labels)
        judge = f"the {self.judge.label} rules judging the chain"
        differences = []
        if self.left_out:
            differences.append(f"leave {', '.join(self.left_out)} out of it, which {judge} hash")
        if self.included:
            differences.append(f"hash {', '.join(self.included)}, which {judge} leave out")
        how = " and ".join(differences) or f"differ from {judge}"
        words = f"the header hash was computed by {labels} rules, which {how}"
        sentence = (
            f"Nothing changed the signed header fields: {signer} computed {hash_words} by "
            f"{labels} rules, which {how}, so it matches under those rules only. The Draft "
            "revisions section says which rule splits them."
        )
        return ChangeSearch(
            "header",
            "identified",
            sentence,
            edits=[Edit("revision-rules", words)],
            made_by="signer",
        )


def _other_rules(
    fields: list[HeaderField], algorithm: str, want: bytes, judge: Revision, budget: SearchBudget
) -> _ByRules | None:
    size = sum(len(f.raw) for f in fields)
    tried: dict[tuple[frozenset[str], tuple[str, ...]], bool] = {
        (judge.unsigned_fields, judge.unsigned_prefixes): False
    }
    labels: list[str] = []
    left_out: list[str] = []
    included: list[str] = []
    for number in ORDER:
        other = REVISIONS[number]
        rules = (other.unsigned_fields, other.unsigned_prefixes)
        if rules not in tried:
            if not budget.take(size):
                return None
            tried[rules] = header_hash(fields, algorithm, *rules) == want
        if not tried[rules]:
            continue
        labels.append(other.label)
        for f in fields:
            if not f.valid or other.is_unsigned(f.lname) == judge.is_unsigned(f.lname):
                continue
            names = left_out if other.is_unsigned(f.lname) else included
            if f.name not in names:
                names.append(f.name)
    return _ByRules(labels, left_out, included, judge) if labels else None

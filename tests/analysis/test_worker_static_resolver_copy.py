"""StaticResolver.unused_copy: a zone parsed once serves each message through a copy that
records that message's answers alone (dkim2web's demo zone is handed out that way)."""

from __future__ import annotations

from analysis.lookup import KeyQuery
from analysis.resolvers import StaticResolver

ZONE = {
    "example.org": {"s1._domainkey": [["txt", "v=DKIM1; k=ed25519; p=AAAA"]]},
    "example.net": {"s2._domainkey": [["txt", "v=DKIM1; p="]]},
}


def test_a_copy_answers_as_the_original_and_records_only_its_own_answers() -> None:
    parsed = StaticResolver(ZONE, clock=lambda: 1000.0).restrict_to_suffixes("example.org")
    first, second = parsed.unused_copy(), parsed.unused_copy()
    query = KeyQuery(selector="s1", domain="example.org")
    outside = KeyQuery(selector="s2", domain="example.net")

    answers = first.lookup_many([query, outside])

    assert answers == parsed.unused_copy().lookup_many([query, outside])
    assert answers[query].records == ("v=DKIM1; k=ed25519; p=AAAA",)
    assert answers[query].fetched_at == 1000.0
    assert not answers[outside].records  # restricted away, as in the original
    assert [a.query for a in first.answers] == [query, outside]
    assert second.answers == [] and parsed.answers == []
    assert first.names() == parsed.names() == ["s1._domainkey.example.org"]
    assert first.suffixes == parsed.suffixes == ("example.org",)


def test_the_demo_zone_is_fresh_on_every_call() -> None:
    from dkim2web.samples.keys import demo_zone

    used = demo_zone()
    used.lookup_many([KeyQuery(selector="s1", domain="origin.example")])
    again = demo_zone()
    assert used.answers and again.answers == []
    assert again is not used and again.names() == used.names()

"""The strict RFC 5322 address reader (analysis.addresses): what real mail writes is read,
with the obsolete syntax of §4.4; anything else is refused with where and why, never read
as some address (CVE-2023-27043)."""

from __future__ import annotations

import pytest

from analysis.addresses import AddressSyntaxError, Mailbox, parse_address_list


def addresses(text: str) -> list[str]:
    return [box.address for box in parse_address_list(text)]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # RFC 5322 §3.4 and the examples of its Appendix A.1
        ("a@example.com", ["a@example.com"]),
        ("John Doe <jdoe@machine.example>", ["jdoe@machine.example"]),
        ('"Joe Q. Public" <john.q.public@example.com>', ["john.q.public@example.com"]),
        (
            "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
            ["mary@x.test", "jdoe@example.org", "one@y.test"],
        ),
        (
            '<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
            ["boss@nil.test", "sysservices@example.net"],
        ),
        (
            "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
            ["c@a.test", "joe@where.test", "jdoe@one.test"],
        ),
        ("Undisclosed recipients:;", []),
        ("", []),
        ('"a@b c"@example.com', ['"a@b c"@example.com']),
        ("a@[192.0.2.1]", ["a@[192.0.2.1]"]),
        ("a@[IPv6:2001:db8::1]", ["a@[IPv6:2001:db8::1]"]),
        # comments (nested, quoted-pairs) and folding white space are dropped (§3.2.2)
        (
            "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
            ["pete@silly.test"],
        ),
        ("(comment, with a comma) alice(x)@(y)example.com(z)", ["alice@example.com"]),
        ("a@example.com (a (nested) comment)", ["a@example.com"]),
        ("Alice\t<a@example.com>", ["a@example.com"]),
        # the obsolete syntax (§4.4)
        ("John Q. Public <jqp@example.com>", ["jqp@example.com"]),  # obs-phrase
        ("john . doe @ example . com", ["john.doe@example.com"]),  # CFWS around dots
        ('"john"."doe"@example.com', ['"john"."doe"@example.com']),  # obs-local-part
        (
            "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
            ["mary@example.net", "jdoe@test.example"],
        ),
        ("<@route.example,@other.example:alice@example.com>", ["alice@example.com"]),
        ("<,@a.example,,@b.example:x@example.com>", ["x@example.com"]),
        (", a@example.com,, b@example.com,", ["a@example.com", "b@example.com"]),
        ("Team: , a@example.com ,;", ["a@example.com"]),
        # beyond the text, as the module says: UTF-8 (RFC 6532) and a final dot
        ("Jürgen <jürgen@exämple.com>", ["jürgen@exämple.com"]),
        ("=?utf-8?q?J=C3=BCrgen?= <j@example.com>", ["j@example.com"]),
        ("alice@example.com.", ["alice@example.com."]),
        ("Alice <alice@example.com.>", ["alice@example.com."]),
    ],
)
def test_a_well_formed_field_is_read(text: str, read: list[str]) -> None:
    assert addresses(text) == read


def test_a_mailbox_keeps_its_parts_as_written_without_comments() -> None:
    assert parse_address_list('"a b" (x) . c @ Example . COM') == [
        Mailbox('"a b".c', "Example.COM")
    ]


@pytest.mark.parametrize(
    ("text", "error", "position"),
    [
        # CVE-2023-27043: the published strings
        (
            "alice@example.org(<bob@example.org>",
            "at character 18: the comment opened here is never closed",
            17,
        ),
        ("alice@example.org)<bob@example.org>", "at character 18: ')' closes no comment", 17),
        (
            "alice@example.org<<bob@example.org>",
            "at character 18: '<' follows the address "
            "alice@example.org where ',' or the end of the field was expected",
            17,
        ),
        (
            "alice@example.org><bob@example.com>",
            "at character 18: '>' follows the address "
            "alice@example.org where ',' or the end of the field was expected",
            17,
        ),
        (
            "alice@example.org[<bob@example.org>",
            "at character 18: the domain literal opened here is never closed",
            17,
        ),
        (
            "alice@example.org]<bob@example.org>",
            "at character 18: ']' closes no domain literal",
            17,
        ),
        (
            "alice@example.org@<bob@example.org>",
            "at character 18: '@' follows the address "
            "alice@example.org where ',' or the end of the field was expected",
            17,
        ),
        (
            "alice@example.org:<bob@example.org>",
            "at character 18: ':' follows the address "
            "alice@example.org where ',' or the end of the field was expected",
            17,
        ),
        (
            "alice@example.org;<bob@example.org>",
            "at character 18: ';' follows the address "
            "alice@example.org where ',' or the end of the field was expected",
            17,
        ),
        (
            "alice@example.org.<bob@example.com>",
            "at character 19: '<' follows '.' where a domain label was expected",
            18,
        ),
        (
            'alice@example.org"<bob@example.com>',
            "at character 18: the quoted string opened here is never closed",
            17,
        ),
        # a second address without a comma
        (
            "<a@evil.example> <b@example.com>",
            "at character 18: '<' follows the address "
            "a@evil.example where ',' or the end of the field was expected",
            17,
        ),
        (
            "a@example.com b@evil.example",
            "at character 15: the word 'b' follows the address "
            "a@example.com where ',' or the end of the field was expected",
            14,
        ),
        (
            "Alice a@example.com",
            "at character 7: the word 'a' follows the word 'Alice' where '.' or '@' was expected",
            6,
        ),
        # display names
        ("Alice", "at the end of the field: '<' or '@' was expected after the name 'Alice'", 5),
        (".Alice <a@example.com>", "at character 1: '.' starts a display name", 0),
        ("x: y: a@example.com;;", "at character 5: ':' starts a group inside a group", 4),
        (":; a@example.com", "at character 1: ':' stands where an address was expected", 0),
        # local parts and domains
        ("@example.com", "at character 1: '@' stands where an address was expected", 0),
        (
            "a..b@example.com",
            "at character 3: '.' stands where a word of the local part was expected",
            2,
        ),
        ("a.@example.com", "at character 2: '.' ends the local part", 1),
        ("a@", "at the end of the field: a domain was expected after '@'", 2),
        ("a@.example.com", "at character 3: '.' follows '@' where a domain was expected", 2),
        (
            "a@example..com",
            "at character 11: '.' follows '.' where a domain label was expected",
            10,
        ),
        ("a@b.c\\om", "at character 6: a backslash stands outside a quoted string or comment", 5),
        ("a@[1[2]", "at character 5: '[' stands inside a domain literal", 4),
        # angle brackets, routes, groups
        ("<>", "at character 2: '<>' holds no address", 1),
        (
            "Alice <alice@example.com",
            "at the end of the field: '>' (to close the '<' at "
            "character 7) was expected after the address alice@example.com",
            24,
        ),
        (
            "<@a.example b@example.com>",
            "at character 13: the word 'b' stands where ',' or ':' "
            "(the end of the source route) was expected",
            12,
        ),
        (
            "Team: a@example.com",
            "at the end of the field: ';' (to close the group 'Team') was "
            "expected after the address a@example.com",
            19,
        ),
        ("Team:", "at the end of the field: ';' (to close the group 'Team') was expected", 5),
        # control characters
        (
            "a\x00b@example.com",
            "at character 2: the control character U+0000 stands outside "
            "a quoted string or comment",
            1,
        ),
        (
            '"a\x00b"@example.com',
            "at character 3: the control character U+0000 stands unescaped in the quoted string",
            2,
        ),
        (
            "a@example.com (x\ry)",
            "at character 17: the control character U+000D stands unescaped in a comment",
            16,
        ),
    ],
)
def test_a_field_that_is_not_well_formed_is_refused_with_where_and_why(
    text: str, error: str, position: int
) -> None:
    with pytest.raises(AddressSyntaxError) as raised:
        parse_address_list(text)
    assert (str(raised.value), raised.value.position) == (error, position)


def test_quoted_pairs_and_obsolete_controls_are_read_where_the_grammar_allows_them() -> None:
    # obs-qp (a quoted NUL) and obs-qtext / obs-ctext (controls other than NUL, CR, LF)
    assert addresses('"a\\\x00b\x01"@example.com (x\x07)') == ['"a\\\x00b\x01"@example.com']


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("(" * 20_000 + "a@example.com", "at character 1: the comment opened here is never closed"),
        (
            "(" * 20_000 + ")" * 20_000 + "a@example.com)",
            "at character 40014: ')' closes no comment",
        ),
        (
            "a@b." * 4_000,
            "at character 6: '@' follows the address a@b.a where ',' or the end "
            "of the field was expected",
        ),
        (
            "<" * 20_000,
            "at character 2: '<' stands where an address (local-part@domain) was expected",
        ),
    ],
)
def test_hostile_nesting_and_repetition_are_read_in_one_pass_without_recursion(
    text: str, error: str
) -> None:
    with pytest.raises(AddressSyntaxError) as raised:
        parse_address_list(text)
    assert str(raised.value) == error


def test_a_long_well_formed_list_is_read_whole() -> None:
    text = ", ".join(f"User {n} <user{n}@example.com>" for n in range(500))
    assert addresses(text) == [f"user{n}@example.com" for n in range(500)]

"""Addresses in message header fields: the mailboxes of a From field and their domains.

RFC 5322 §3.4 (address-list, mailbox, group), §3.2 (atoms, quoted strings, comments) and
§4.4 (the obsolete syntax), RFC 6532 §3.2 (UTF-8 in atoms, quoted strings, comments and
domain literals), RFC 6854 (a group in From), RFC 5890 (A-labels).  DMARC (RFC 9989
§5.3.1, the Author Domain) and DKIM2's From-Authentic rule (-09) both read the From field
through these.

Theory of operation
-------------------
An address that decides a verdict is read strictly (issue #11): a reader that takes an
address out of a field that is not well-formed picks *some* address, and another program
(the receiver's filter, the reader's mail program) may pick another.  CVE-2023-27043 is
that bug in Python's ``email.utils.parseaddr``: ``alice@example.org)<bob@example.org>``
read as alice's address by one and bob's by another.  So :func:`parse_address_list` either
returns every mailbox of a well-formed field or raises :class:`AddressSyntaxError` saying
where reading stopped; it never guesses.

It reads in two steps, both linear in the text: a lexer turns the field into words (atoms
and quoted strings), domain literals and the specials ``< > @ , ; : .``, dropping comments
(nested, RFC 5322 §3.2.2) and white space; a parser then applies the grammar to the tokens.
The lexer stops at its first error and leaves it as the last token, so the error reported is
the first one in reading order, whichever step finds it.

Accepted, as real mail needs (RFC 5322 §4.4, and RFC 5322 §4 requires a reader to accept
the obsolete forms):

* obs-phrase: a display name with dots (``John Q. Public <jqp@example.com>``);
* obs-local-part and obs-domain: CFWS around the dots (``john . doe @ example . com``) and
  quoted words among the atoms (``"john"."doe"@example.com``);
* obs-angle-addr: a source route before the address (``<@relay.example:a@example.com>``);
* obs-mbox-list / obs-addr-list / obs-group-list: empty list elements (``a@x, , b@y``);
* a group in From (RFC 6854), whose mailboxes count like any other.

Accepted beyond the text, each named here: UTF-8 in atoms, quoted strings, comments and
domain literals (RFC 6532 §3.2, so also undecodable octets read as U+FFFD; the domain check
refuses what cannot be a domain); a final dot after a domain (``a@example.com.``, a DNS
absolute name; it names the same domain).  Refused: everything else, among it a second
address after a mailbox without a comma, ``@`` or ``:`` in an unquoted display name, an
unclosed comment, quoted string or ``<``, and a control character outside a quoted string
or comment.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from . import limits
from .resolvers import InvalidKeyName, host_name

__all__ = [
    "AddressSyntaxError",
    "DomainError",
    "Mailbox",
    "a_label_domain",
    "parse_address_list",
]


def _cut(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DomainError(ValueError):
    """A text that cannot be used as a domain name; the message is a sentence part."""


def _a_label(label: str) -> tuple[str, bool]:
    """One label in A-label form (RFC 5890 §2.3.2.1), and whether it was converted."""
    if label.isascii():
        return label.lower(), False
    u_label = unicodedata.normalize("NFC", unicodedata.normalize("NFC", label).lower())
    for ch in u_label:
        if ch != "-" and unicodedata.category(ch)[0] not in "LMN":
            raise DomainError(
                f"the label {label!r} contains {ch!r} (U+{ord(ch):04X}), which cannot be "
                "part of an internationalised domain name"
            )
    return "xn--" + u_label.encode("punycode").decode("ascii"), True


def a_label_domain(text: str) -> tuple[str, bool]:
    """``text`` as a lower-case A-label domain name, and whether a U-label was converted.

    Raises ``ValueError`` with a sentence part when ``text`` is not a usable domain name
    (empty, a domain literal, characters a DNS name cannot hold, too long)."""
    text = text.strip()
    if not text:
        raise DomainError("the domain is empty")
    if text.startswith("["):
        raise DomainError(f"{_cut(text, 80)!r} is an address literal, not a domain name")
    converted = False
    labels: list[str] = []
    for raw in text.split("."):
        label, was = _a_label(raw) if raw else (raw, False)
        converted = converted or was
        labels.append(label)
    try:
        name = host_name(".".join(labels)).name
    except InvalidKeyName as exc:
        raise DomainError(str(exc)) from None
    return name, converted


# -- the strict reader (RFC 5322 §3.4, §4.4) ---------------------------------------------------


class AddressSyntaxError(ValueError):
    """A field that is not a well-formed address list.

    ``position`` is the 0-based index in the text where reading stopped (the length of the
    text when the field ended too early); the message says where and why, as a sentence part:
    ``at character 18: ')' closes no comment``."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        where = f"character {position + 1}" if position < len(text) else "the end of the field"
        super().__init__(f"at {where}: {reason}")


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of a field, comments and folding white space removed."""

    local: str  # as written: atoms and quoted strings joined by dots
    domain: str  # as written: labels joined by dots, or a domain literal "[...]"

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


# RFC 5322 §3.2.3 atext; RFC 6532 §3.2 adds every non-ASCII character.
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
_SPECIALS = frozenset("<>@,;:.")
_WSP = frozenset(" \t")
# Never allowed unescaped, not even where obs-NO-WS-CTL is (RFC 5322 §4.1: NUL, CR, LF).
_NEVER_BARE = frozenset("\x00\r\n")


def _is_atext(c: str) -> bool:
    return c in _ATEXT or c > "\x7f"


@dataclass(frozen=True)
class _Token:
    kind: str  # "atom", "quoted", "literal", one of _SPECIALS, "end", or "error"
    text: str  # the token as written (the reason for "error")
    start: int

    @property
    def word(self) -> bool:
        return self.kind in ("atom", "quoted")

    def shown(self) -> str:
        """The token in an error sentence."""
        if self.kind == "atom":
            return f"the word {_cut(self.text, 40)!r}"
        if self.kind == "quoted":
            return "a quoted string"
        if self.kind == "literal":
            return f"the domain literal {_cut(self.text, 40)!r}"
        return repr(self.kind)


def _control(c: str) -> str:
    return f"the control character U+{ord(c):04X}"


def _closing(text: str, start: int) -> tuple[int, int, str]:
    """The index after the quoted string or domain literal opened at ``start``, or -1, the
    error's position and its reason.  A backslash quotes the next character (quoted-pair,
    with obs-qp: any character, RFC 5322 §3.2.1, §4.1)."""
    close, inside = (
        ('"', "the quoted string") if text[start] == '"' else ("]", "the domain literal")
    )
    i, n = start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == close:
            return i + 1, 0, ""
        if c in _NEVER_BARE:
            return -1, i, f"{_control(c)} stands unescaped in {inside}"
        if close == "]" and c == "[":
            return -1, i, "'[' stands inside a domain literal"
        i += 1
    return -1, start, f"{inside} opened here is never closed"


def _comment_end(text: str, start: int) -> tuple[int, int, str]:
    """The index after the comment opened at ``start`` (comments nest, RFC 5322 §3.2.2), or
    -1, the error's position and its reason."""
    depth, i, n = 1, start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if not depth:
                return i + 1, 0, ""
        elif c in _NEVER_BARE:
            return -1, i, f"{_control(c)} stands unescaped in a comment"
        i += 1
    return -1, start, "the comment opened here is never closed"


def _tokens(text: str) -> list[_Token]:
    """The tokens of ``text``, ending with an "end" token or, at the first lexical error,
    an "error" token."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WSP:
            i += 1
        elif c == "(":
            end, where, reason = _comment_end(text, i)
            if end < 0:
                out.append(_Token("error", reason, where))
                return out
            i = end
        elif c in '"[':
            end, where, reason = _closing(text, i)
            if end < 0:
                out.append(_Token("error", reason, where))
                return out
            out.append(_Token("quoted" if c == '"' else "literal", text[i:end], i))
            i = end
        elif c in _SPECIALS:
            out.append(_Token(c, c, i))
            i += 1
        elif _is_atext(c):
            start = i
            while i < n and _is_atext(text[i]):
                i += 1
            out.append(_Token("atom", text[start:i], start))
        else:
            if c == ")":
                reason = "')' closes no comment"
            elif c == "]":
                reason = "']' closes no domain literal"
            elif c == "\\":
                reason = "a backslash stands outside a quoted string or comment"
            else:
                reason = f"{_control(c)} stands outside a quoted string or comment"
            out.append(_Token("error", reason, i))
            return out
    out.append(_Token("end", "", n))
    return out


class _Reader:
    """The parser over the tokens (RFC 5322 §3.4 with §4.4)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def fail(self, token: _Token, reason: str) -> NoReturn:
        raise AddressSyntaxError(self.text, token.start, reason)

    def peek(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind == "error":
            self.fail(token, token.text)
        return token

    def take(self) -> _Token:
        token = self.peek()
        self.i += 1
        return token

    def expected(self, token: _Token, what: str, after: str = "") -> NoReturn:
        """Fail at ``token``, which stands where ``what`` was expected (``after`` names what
        was read just before, as a noun phrase)."""
        if token.kind == "end":
            self.fail(token, f"{what} was expected" + (f" after {after}" if after else ""))
        verb = f"follows {after}" if after else "stands"
        self.fail(token, f"{token.shown()} {verb} where {what} was expected")

    def skip_commas(self) -> None:
        while self.peek().kind == ",":
            self.i += 1

    # address-list = address *("," address) / obs-addr-list
    def address_list(self) -> list[Mailbox]:
        found: list[Mailbox] = []
        while True:
            self.skip_commas()  # obs-addr-list: empty elements
            if self.peek().kind == "end":
                return found
            boxes, last = self.address(in_group=False)
            found.extend(boxes)
            token = self.peek()
            if token.kind == "end":
                return found
            if token.kind != ",":
                self.expected(token, "',' or the end of the field", last)

    # address = mailbox / group;  mailbox = name-addr / addr-spec
    def address(self, *, in_group: bool) -> tuple[list[Mailbox], str]:
        """The mailboxes of one address and how to name what was read, for an error."""
        if self.peek().kind == "<":
            box = self.angle_addr()
            return [box], f"the address {box.address}"
        words = self.words()
        token = self.peek()
        if token.kind == "@" and words:
            local = self.local_part(words)
            self.take()
            box = Mailbox(local, self.domain())
            return [box], f"the address {box.address}"
        if token.kind == "<" and words:
            self.display_name(words)
            box = self.angle_addr()
            return [box], f"the address {box.address}"
        if token.kind == ":" and words and not in_group:
            name = self.display_name(words)
            self.take()
            return self.group(name), f"the group {name!r}"
        if token.kind == ":" and words:
            self.fail(token, "':' starts a group inside a group")
        if not words:
            self.expected(token, "an address")
        self.expected(token, "'<' or '@'", f"the name {self.phrase(words)!r}")

    def words(self) -> list[_Token]:
        """A run of words and dots: a display name or a local part, as what follows says."""
        run: list[_Token] = []
        while self.peek().word or self.peek().kind == ".":
            run.append(self.take())
        return run

    def phrase(self, words: list[_Token]) -> str:
        return _cut(self.text[words[0].start : words[-1].start + len(words[-1].text)], 60)

    # display-name = phrase;  obs-phrase = word *(word / "." / CFWS)
    def display_name(self, words: list[_Token]) -> str:
        if not words[0].word:
            self.fail(words[0], "'.' starts a display name")
        return self.phrase(words)

    # local-part = dot-atom / quoted-string / obs-local-part;  obs-local-part = word *("." word)
    def local_part(self, words: list[_Token]) -> str:
        for before, token in zip([None, *words], words, strict=False):
            if token.kind == ".":
                if before is None or before.kind == ".":
                    self.fail(token, "'.' stands where a word of the local part was expected")
            elif before is not None and before.word:
                self.expected(token, "'.' or '@'", before.shown())
        if words[-1].kind == ".":
            self.fail(words[-1], "'.' ends the local part")
        return "".join(t.text for t in words)

    # domain = dot-atom / domain-literal / obs-domain;  obs-domain = atom *("." atom)
    def domain(self) -> str:
        token = self.peek()
        if token.kind == "literal":
            self.take()
            return token.text
        if token.kind != "atom":
            self.expected(token, "a domain", "'@'")
        labels = [self.take().text]
        while self.peek().kind == ".":
            self.take()
            token = self.peek()
            if token.kind == "atom":
                labels.append(self.take().text)
            elif token.kind in ("end", ",", ";", ">"):
                labels.append("")  # a final dot: a DNS absolute name (see the module docs)
                break
            else:
                self.expected(token, "a domain label", "'.'")
        return ".".join(labels)

    # angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    def angle_addr(self) -> Mailbox:
        opening = self.take()
        if self.peek().kind in (",", "@"):
            self.route()
        words = self.words()
        token = self.peek()
        if token.kind == ">" and not words:
            self.fail(token, "'<>' holds no address")
        if token.kind != "@" or not words:
            self.expected(token, "an address (local-part@domain)" if not words else "'@'")
        local = self.local_part(words)
        self.take()
        box = Mailbox(local, self.domain())
        token = self.peek()
        if token.kind != ">":
            self.expected(
                token,
                f"'>' (to close the '<' at character {opening.start + 1})",
                f"the address {box.address}",
            )
        self.take()
        return box

    # obs-route = obs-domain-list ":";  obs-domain-list = *(CFWS / ",") "@" domain
    #             *("," [CFWS] ["@" domain])
    def route(self) -> None:
        self.skip_commas()
        token = self.peek()
        if token.kind != "@":
            self.expected(token, "'@' (a source route)")
        self.take()
        self.domain()
        while self.peek().kind == ",":
            self.take()
            if self.peek().kind == "@":
                self.take()
                self.domain()
        token = self.peek()
        if token.kind != ":":
            self.expected(token, "',' or ':' (the end of the source route)")
        self.take()

    # group = display-name ":" [group-list] ";" [CFWS];  group-list = mailbox-list / CFWS /
    # obs-group-list
    def group(self, name: str) -> list[Mailbox]:
        found: list[Mailbox] = []
        while True:
            self.skip_commas()
            token = self.peek()
            if token.kind == ";":
                self.take()
                return found
            if token.kind == "end":
                self.expected(token, f"';' (to close the group {name!r})")
            boxes, last = self.address(in_group=True)
            found.extend(boxes)
            token = self.peek()
            if token.kind == "end":
                self.expected(token, f"';' (to close the group {name!r})", last)
            if token.kind not in (",", ";"):
                self.expected(token, "',' or ';'", last)


def parse_address_list(text: str) -> list[Mailbox]:
    """Every mailbox of an RFC 5322 address list (a From field's value, unfolded), groups'
    mailboxes included, or :class:`AddressSyntaxError` when the text is not well-formed.

    An empty text, or groups without members, give an empty list: well-formed, no address.
    """
    return _Reader(text).address_list()

"""Enhanced mail system status codes in plain words (RFC 3463, and the IANA registry).

A bounce's ``Status`` field (RFC 3464 §2.3.4) and most SMTP replies carry a code
``class.subject.detail`` (RFC 3463 §2):

* the class says how final it is: 2 success, 4 a persistent transient failure (it may work
  later), 5 a permanent failure (the same message will fail the same way);
* the subject says what area the problem is in (RFC 3463 §3: addressing, mailbox, mail
  system, network and routing, protocol, content, security or policy);
* the detail names the problem within the subject (RFC 3463 §3.1 - §3.8).

The tables below hold every code of RFC 3463 and the ones registered since in the IANA "SMTP
Enhanced Status Codes" registry (RFC 5248; the registry as updated 2024-12-06), each with
where it was defined.  The titles are the registry's; the meanings and "who can act" are
ours, written for the person reading a bounce.  A code not in the table is still explained
by its class and subject, and said to be unregistered (servers use private details, such as
Microsoft's 5.7.5xx codes: the server's reply in the Diagnostic-Code then says more).

Grammar (RFC 3463 §2, RFC 3464 §2.3.4): ``class "." subject "." detail``, class one of
2, 4, 5, subject and detail one to three digits without leading zeros beyond the digit 0.
We accept leading zeros in subject and detail ("5.01.001" reads as 5.1.1) since some
servers write them, and say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["CLASSES", "DETAILS", "SUBJECTS", "StatusExplanation", "explain", "find_codes"]

_REGISTRY = "IANA SMTP Enhanced Status Codes registry"

#: Class sub-codes (RFC 3463 §3): (title, what it means for the message).
CLASSES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "2": ("Success", "the action the report describes succeeded"),
        "4": (
            "Temporary failure",
            "a temporary condition stopped or delayed delivery: the same message may get "
            "through if it is sent again later",
        ),
        "5": (
            "Permanent failure",
            "sending the same message again will fail the same way: something must change "
            "first (the address, the message, or the settings of a sending or receiving system)",
        ),
    }
)

#: Subject sub-codes (RFC 3463 §3.1 - §3.8): (title, what it covers, who usually acts).
SUBJECTS: MappingProxyType[str, tuple[str, str, str]] = MappingProxyType(
    {
        "0": (
            "Other or undefined",
            "the server gave no area for the problem",
            "unknown from the code alone: read the server's reply (Diagnostic-Code)",
        ),
        "1": (
            "Addressing",
            "the address of the sender or of a recipient",
            "the sender, who can usually correct the address and send again",
        ),
        "2": (
            "Mailbox",
            "the recipient's mailbox",
            "the recipient, who controls the mailbox",
        ),
        "3": (
            "Mail system",
            "the receiving mail system",
            "the administrator of the receiving mail system",
        ),
        "4": (
            "Network and routing",
            "the connections and the routing (DNS) between mail systems",
            "the administrator of the receiving system, or of a relay on the way",
        ),
        "5": (
            "Mail delivery protocol",
            "the SMTP conversation between two mail servers",
            "the administrators of the two mail servers",
        ),
        "6": (
            "Message content or media",
            "the content of the message (its media types, encodings and conversions)",
            "the sender and the receiving system, who must agree on what content is allowed",
        ),
        "7": (
            "Security or policy",
            "filtering, authentication and encryption policies",
            "the sender or the recipient, depending on whose policy refused it: read the "
            "server's reply",
        ),
    }
)

_SENDER_ADDRESS = "the sender: check the address and send again"
_SENDER_DOMAIN = (
    "the administrator of the sender's domain: fix the domain's authentication records "
    "(SPF, DKIM, DMARC) or the way the mail is sent"
)
_SENDER_SMALLER = "the sender: send a smaller message (or a link instead of the attachment)"
_SUBMITTER = "the person or program sending: check the account and its login settings"
_RECEIVER_ADMIN = "the administrator of the receiving mail system"
_RECIPIENT = "the recipient, who controls the mailbox"

#: Detail codes, "subject.detail" -> (registry title, meaning in plain words, who acts or "",
#: where it is defined).  "" for who: the subject's.
DETAILS: MappingProxyType[str, tuple[str, str, str, str]] = MappingProxyType(
    {
        # -- other (RFC 3463 §3.1)
        "0.0": (
            "Other undefined status",
            "the server knew only whether it worked, not why",
            "",
            "RFC 3463 §3.1",
        ),
        # -- addressing (RFC 3463 §3.2)
        "1.0": (
            "Other address status",
            "something about an address in the message caused this report",
            "",
            "RFC 3463 §3.2",
        ),
        "1.1": (
            "Bad destination mailbox address",
            "the mailbox does not exist (the part of the address before the @ is wrong)",
            _SENDER_ADDRESS,
            "RFC 3463 §3.2",
        ),
        "1.2": (
            "Bad destination system address",
            "the domain after the @ does not exist or cannot take mail",
            _SENDER_ADDRESS,
            "RFC 3463 §3.2",
        ),
        "1.3": (
            "Bad destination mailbox address syntax",
            "the recipient address is not a valid address",
            _SENDER_ADDRESS,
            "RFC 3463 §3.2",
        ),
        "1.4": (
            "Destination mailbox address ambiguous",
            "the address matches more than one mailbox on the receiving system",
            _SENDER_ADDRESS,
            "RFC 3463 §3.2",
        ),
        "1.5": (
            "Destination address valid",
            "the recipient address is valid (a success report uses this code)",
            "nobody: nothing went wrong",
            "RFC 3463 §3.2",
        ),
        "1.6": (
            "Destination mailbox has moved, No forwarding address",
            "the address used to work, but mail to it is no longer accepted",
            "the sender: find the recipient's new address",
            "RFC 3463 §3.2",
        ),
        "1.7": (
            "Bad sender's mailbox address syntax",
            "the sender address is not a valid address",
            "the sender's mail administrator: the sending system writes a broken sender address",
            "RFC 3463 §3.2",
        ),
        "1.8": (
            "Bad sender's system address",
            "the sender's domain does not exist or cannot take replies",
            "the sender's mail administrator: the sender's domain needs working DNS and MX records",
            "RFC 3463 §3.2",
        ),
        "1.9": (
            "Message relayed to non-compliant mailer",
            "the address was valid, but the message was passed to a system that sends no "
            "further reports",
            "nobody yet: whether it was delivered is unknown",
            "RFC 3886; RFC 5248",
        ),
        "1.10": (
            "Recipient address has null MX",
            "the recipient's domain publishes a null MX record: it accepts no mail at all",
            _SENDER_ADDRESS,
            "RFC 7505",
        ),
        # -- mailbox (RFC 3463 §3.3)
        "2.0": (
            "Other or undefined mailbox status",
            "the mailbox exists, but something about it stopped delivery",
            "",
            "RFC 3463 §3.3",
        ),
        "2.1": (
            "Mailbox disabled, not accepting messages",
            "the mailbox exists but takes no mail, for now or for good",
            _RECIPIENT,
            "RFC 3463 §3.3",
        ),
        "2.2": (
            "Mailbox full",
            "the recipient's mailbox is over its quota",
            "the recipient, who must delete mail to make room",
            "RFC 3463 §3.3",
        ),
        "2.3": (
            "Message length exceeds administrative limit",
            "the message is larger than this mailbox accepts",
            _SENDER_SMALLER,
            "RFC 3463 §3.3",
        ),
        "2.4": (
            "Mailing list expansion problem",
            "the address is a mailing list whose members could not be worked out",
            "the list's owner",
            "RFC 3463 §3.3",
        ),
        # -- mail system (RFC 3463 §3.4)
        "3.0": (
            "Other or undefined mail system status",
            "the receiving system normally takes mail, but something about it stopped this one",
            "",
            "RFC 3463 §3.4",
        ),
        "3.1": (
            "Mail system full",
            "the receiving system is out of storage",
            "",
            "RFC 3463 §3.4",
        ),
        "3.2": (
            "System not accepting network messages",
            "the receiving system takes no mail now (shutting down, overloaded or in maintenance)",
            "",
            "RFC 3463 §3.4",
        ),
        "3.3": (
            "System not capable of selected features",
            "the message asks for features the receiving system does not support",
            "",
            "RFC 3463 §3.4",
        ),
        "3.4": (
            "Message too big for system",
            "the message is larger than the receiving system accepts",
            _SENDER_SMALLER,
            "RFC 3463 §3.4",
        ),
        "3.5": (
            "System incorrectly configured",
            "the receiving system is not set up to accept this message",
            "",
            "RFC 3463 §3.4",
        ),
        "3.6": (
            "Requested priority was changed",
            "the message was taken, but at another priority than the one asked for",
            "nobody: it is a notice",
            "RFC 6710",
        ),
        # -- network and routing (RFC 3463 §3.5)
        "4.0": (
            "Other or undefined network or routing status",
            "something went wrong in the network, and the server could not say what",
            "",
            "RFC 3463 §3.5",
        ),
        "4.1": (
            "No answer from host",
            "the receiving server did not answer the connection",
            "",
            "RFC 3463 §3.5",
        ),
        "4.2": (
            "Bad connection",
            "the connection was made but broke, or timed out, before the message was sent",
            "",
            "RFC 3463 §3.5",
        ),
        "4.3": (
            "Directory server failure",
            "a directory server the delivery needed (usually DNS) could not be reached",
            "",
            "RFC 3463 §3.5",
        ),
        "4.4": (
            "Unable to route",
            "no way to reach the destination was found (for example, its domain has no "
            "usable MX or address record)",
            "the administrator of the recipient's domain (its DNS records), or the sender if "
            "the domain is misspelt",
            "RFC 3463 §3.5",
        ),
        "4.5": (
            "Mail system congestion",
            "the mail system was too busy to deliver the message",
            "",
            "RFC 3463 §3.5",
        ),
        "4.6": (
            "Routing loop detected",
            "the message went round in a loop (wrong routing, or forwarding that points back)",
            "",
            "RFC 3463 §3.5",
        ),
        "4.7": (
            "Delivery time expired",
            "the message waited too long (the queue's lifetime, or the sender's time limit, "
            "ran out before it could be delivered)",
            "",
            "RFC 3463 §3.5",
        ),
        # -- mail delivery protocol (RFC 3463 §3.6)
        "5.0": (
            "Other or undefined protocol status",
            "something went wrong in the SMTP conversation",
            "",
            "RFC 3463 §3.6",
        ),
        "5.1": (
            "Invalid command",
            "a server sent a command out of order or one that is not supported",
            "",
            "RFC 3463 §3.6",
        ),
        "5.2": (
            "Syntax error",
            "a server sent a command that could not be read",
            "",
            "RFC 3463 §3.6",
        ),
        "5.3": (
            "Too many recipients",
            "the message had more recipients than the receiving server takes at once",
            "the sender: send to fewer recipients at a time",
            "RFC 3463 §3.6",
        ),
        "5.4": (
            "Invalid command arguments",
            "a valid command came with arguments the receiving server refuses",
            "",
            "RFC 3463 §3.6",
        ),
        "5.5": (
            "Wrong protocol version",
            "the two servers could not agree on a protocol version",
            "",
            "RFC 3463 §3.6",
        ),
        "5.6": (
            "Authentication Exchange line is too long",
            "the client's login (AUTH) line was longer than the server takes",
            _SUBMITTER,
            "RFC 4954 §6",
        ),
        # -- message content or media (RFC 3463 §3.7)
        "6.0": (
            "Other or undefined media error",
            "something in the content made the message undeliverable",
            "",
            "RFC 3463 §3.7",
        ),
        "6.1": (
            "Media not supported",
            "the message's media type is not supported on the way to the recipient",
            "",
            "RFC 3463 §3.7",
        ),
        "6.2": (
            "Conversion required and prohibited",
            "the content had to be converted for delivery, and conversion was not allowed",
            "",
            "RFC 3463 §3.7",
        ),
        "6.3": (
            "Conversion required but not supported",
            "the content had to be converted (for example 8-bit to 7-bit) and a server on the "
            "way could not do it",
            "",
            "RFC 3463 §3.7",
        ),
        "6.4": (
            "Conversion with loss performed",
            "the message was delivered, but converting it lost some of its content",
            "",
            "RFC 3463 §3.7",
        ),
        "6.5": (
            "Conversion Failed",
            "the content had to be converted, and the conversion failed",
            "",
            "RFC 3463 §3.7",
        ),
        "6.6": (
            "Message content not available",
            "the content to send (a BURL reference) could not be fetched",
            _SUBMITTER,
            "RFC 4468",
        ),
        "6.7": (
            "Non-ASCII addresses not permitted for that sender/recipient",
            "an address with non-ASCII characters reached a system that does not take them",
            "",
            "RFC 6531",
        ),
        "6.8": (
            "UTF-8 string reply is required, but not permitted by the SMTP client",
            "the server needed to answer in UTF-8 and the client could not take it",
            "",
            "RFC 6531",
        ),
        "6.9": (
            "UTF-8 header message cannot be transferred to one or more recipients",
            "a message with UTF-8 header fields could not be passed to a system without "
            "SMTPUTF8 support",
            "",
            "RFC 6531",
        ),
        "6.10": (
            "Duplicate of X.6.8 (deprecated)",
            "an old form of X.6.8: a UTF-8 reply was needed and not permitted",
            "",
            "RFC 6531",
        ),
        # -- security or policy (RFC 3463 §3.8)
        "7.0": (
            "Other or undefined security status",
            "a security reason stopped the message, and the server did not (or may not) say which",
            "",
            "RFC 3463 §3.8",
        ),
        "7.1": (
            "Delivery not authorized, message refused",
            "the receiving system's policy refused the message (a filter, a block list, or a "
            "rule for this sender or recipient)",
            "the sender: read the server's reply, then ask the recipient's postmaster if it is "
            "not clear",
            "RFC 3463 §3.8",
        ),
        "7.2": (
            "Mailing list expansion prohibited",
            "the sender may not send to this mailing list",
            "the list's owner",
            "RFC 3463 §3.8",
        ),
        "7.3": (
            "Security conversion required but not possible",
            "the message had to move to another secure-messaging protocol, and could not",
            "",
            "RFC 3463 §3.8",
        ),
        "7.4": (
            "Security features not supported",
            "the message uses security features the delivery protocol does not support",
            "",
            "RFC 3463 §3.8",
        ),
        "7.5": (
            "Cryptographic failure",
            "a system could not check or decrypt the message: a key was missing or invalid",
            "",
            "RFC 3463 §3.8",
        ),
        "7.6": (
            "Cryptographic algorithm not supported",
            "a system could not check or decrypt the message: it does not support the algorithm",
            "",
            "RFC 3463 §3.8",
        ),
        "7.7": (
            "Message integrity failure",
            "a system found the message corrupted or altered when it checked it",
            "",
            "RFC 3463 §3.8",
        ),
        "7.8": (
            "Authentication credentials invalid",
            "the login to the mail server failed (wrong or insufficient credentials)",
            _SUBMITTER,
            "RFC 4954 §6",
        ),
        "7.9": (
            "Authentication mechanism is too weak",
            "the login method is weaker than the server allows for this account",
            _SUBMITTER,
            "RFC 4954 §6",
        ),
        "7.10": (
            "Encryption Needed",
            "the login method may only be used over an encrypted connection",
            _SUBMITTER,
            "RFC 5248",
        ),
        "7.11": (
            "Encryption required for requested authentication mechanism",
            "the login method may only be used over an encrypted connection",
            _SUBMITTER,
            "RFC 4954 §6",
        ),
        "7.12": (
            "A password transition is needed",
            "the account must log in once with a plain password to move to the login method "
            "it asked for",
            _SUBMITTER,
            "RFC 4954 §6",
        ),
        "7.13": (
            "User Account Disabled",
            "the sending account has been disabled by its administrator",
            "the sender, who must ask the mail administrator to enable the account again",
            "RFC 5248",
        ),
        "7.14": (
            "Trust relationship required",
            "the submission server needs a configured trust with another server to fetch the "
            "content",
            _RECEIVER_ADMIN,
            "RFC 5248",
        ),
        "7.15": (
            "Priority Level is too low",
            "the message's priority is below what the receiving server accepts now",
            "",
            "RFC 6710",
        ),
        "7.16": (
            "Message is too big for the specified priority",
            "the message is too large for the priority it asked for",
            "",
            "RFC 6710",
        ),
        "7.17": (
            "Mailbox owner has changed",
            "the recipient mailbox changed hands since the date the sender required "
            "(Require-Recipient-Valid-Since)",
            _SENDER_ADDRESS,
            "RFC 7293",
        ),
        "7.18": (
            "Domain owner has changed",
            "the recipient's domain changed hands since the date the sender required",
            _SENDER_ADDRESS,
            "RFC 7293",
        ),
        "7.19": (
            "RRVS test cannot be completed",
            "the receiving system cannot tell whether the mailbox changed hands since the date "
            "the sender required",
            "the sender, who may send again without that requirement",
            "RFC 7293",
        ),
        "7.20": (
            "No passing DKIM signature found",
            "the receiver requires a valid DKIM signature, and none verified",
            _SENDER_DOMAIN,
            "RFC 7372 §3.1",
        ),
        "7.21": (
            "No acceptable DKIM signature found",
            "DKIM signatures verified, but none from a domain the receiver accepts",
            _SENDER_DOMAIN,
            "RFC 7372 §3.1",
        ),
        "7.22": (
            "No valid author-matched DKIM signature found",
            "no verified DKIM signature is from the domain in the From address",
            _SENDER_DOMAIN,
            "RFC 7372 §3.1",
        ),
        "7.23": (
            "SPF validation failed",
            "the sending server is not one the MAIL FROM domain's SPF record allows",
            _SENDER_DOMAIN,
            "RFC 7372 §3.2",
        ),
        "7.24": (
            "SPF validation error",
            "SPF could not be evaluated (the domain's SPF record is broken, or DNS failed)",
            _SENDER_DOMAIN,
            "RFC 7372 §3.2",
        ),
        "7.25": (
            "Reverse DNS validation failed",
            "the sending server's IP address failed the receiver's reverse DNS check",
            "the administrator of the sending server: give its address a matching reverse DNS "
            "(PTR) name",
            "RFC 7372 §3.3",
        ),
        "7.26": (
            "Multiple authentication checks failed",
            "more than one authentication check failed (for example SPF and DKIM, so DMARC "
            "too); the receiver does not say which",
            _SENDER_DOMAIN,
            "RFC 7372 §4",
        ),
        "7.27": (
            "Sender address has null MX",
            "the sender's domain publishes a null MX record (it takes no mail), so no bounce "
            "could reach it, and the receiver refuses such senders",
            "the administrator of the sender's domain: send from a domain that can take replies",
            "RFC 7505",
        ),
        "7.28": (
            "Mail flood detected",
            "the receiver saw too much mail from this source at once",
            "the sender: send less mail, more slowly, and check for a compromised account",
            _REGISTRY,
        ),
        "7.29": (
            "ARC validation failure",
            "the message's ARC chain (the seals of forwarders) did not validate",
            "the forwarder whose ARC seal failed",
            "RFC 8617",
        ),
        "7.30": (
            "REQUIRETLS support required",
            "the sender asked for TLS all the way (REQUIRETLS), and a server on the way does "
            "not support it",
            "the sender, who may send without the requirement, or the receiving system's "
            "administrator",
            "RFC 8689",
        ),
    }
)

_CODE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
#: An enhanced status code inside free text (an SMTP reply in a Diagnostic-Code).
_CODE_IN_TEXT = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


@dataclass(frozen=True)
class StatusExplanation:
    """One status code, taken apart and put in words."""

    code: str  # as written (cut), e.g. "5.1.1"
    valid: bool  # it is class "." subject "." detail with a known class
    class_title: str = ""
    class_text: str = ""
    subject_title: str = ""
    subject_text: str = ""
    detail_title: str = ""  # the registry's title, "" when the detail is not registered
    detail_text: str = ""
    registered: bool = False
    who: str = ""  # who can act
    source: str = ""  # where the detail is defined
    problem: str = ""  # why it is not valid, or what was odd about it

    @property
    def headline(self) -> str:
        """ "Permanent failure: the mailbox does not exist: ..." in one line."""
        if not self.valid:
            return self.problem
        what = self.detail_text or f"a problem with {self.subject_text}"
        return f"{self.class_title}: {what}"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid": self.valid,
            "class": self.class_title,
            "class_text": self.class_text,
            "subject": self.subject_title,
            "subject_text": self.subject_text,
            "title": self.detail_title,
            "text": self.detail_text,
            "registered": self.registered,
            "who": self.who,
            "source": self.source,
            "problem": self.problem,
            "headline": self.headline,
        }


def explain(code: str) -> StatusExplanation:
    """``code`` ("5.1.1") in words; never raises (an invalid code says why)."""
    text = code.strip()[:40]
    m = _CODE.match(text)
    if m is None:
        return StatusExplanation(
            text,
            False,
            problem=(
                f"{text!r} is not an enhanced status code: RFC 3463 §2 writes one as "
                "class.subject.detail, the class 2, 4 or 5"
                if text
                else "the status code is empty"
            ),
        )
    klass, subject, detail = m.group(1), str(int(m.group(2))), str(int(m.group(3)))
    normal = f"{klass}.{subject}.{detail}"
    problem = f"written with leading zeros; read as {normal}" if normal != text else ""
    class_title, class_text = CLASSES[klass]
    subject_entry = SUBJECTS.get(subject)
    entry = DETAILS.get(f"{subject}.{detail}")
    if subject_entry is None:
        subject_title, subject_text = (
            "Unregistered subject",
            f"subject {subject}, which RFC 3463 does not define",
        )
        who, source = SUBJECTS["0"][2], "RFC 3463 §2"
    else:
        subject_title, subject_text, who = subject_entry
        source = "RFC 3463 §3"
        if entry is None:
            who += f"; the detail {detail} is this server's own, so its reply says more"
    title = meaning = ""
    if entry is not None:
        title, meaning, detail_who, source = entry
        who = detail_who or who
    return StatusExplanation(
        normal,
        True,
        class_title,
        class_text,
        subject_title,
        subject_text,
        title,
        meaning,
        entry is not None,
        who,
        source,
        problem,
    )


def find_codes(text: str, *, limit: int = 4) -> list[str]:
    """The enhanced status codes in free text (an SMTP reply), in order, each once."""
    found: list[str] = []
    for m in _CODE_IN_TEXT.finditer(text):
        code = f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}"
        if code not in found:
            found.append(code)
            if len(found) >= limit:
                break
    return found

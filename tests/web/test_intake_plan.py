"""One delivery, the analyses it becomes: direct, wrapper and originals, inline, bounce."""

from __future__ import annotations

from dkim2web.intake import plan
from dkim2web.intake.testing import attach, message

A = b"From: a@origin.example\r\nSubject: first original\r\n\r\none\r\n"
B = b"From: b@news.example\r\nSubject: second original\r\n\r\ntwo\r\n"


def test_a_plain_message_is_analysed_as_delivered() -> None:
    raw = message(sender="a@origin.example", to="x@intake.localhost", subject="hi", body="x\r\n")
    item = plan.plan(raw)
    assert (item.kind, item.raw, item.children, item.notes) == (plan.DIRECT, raw, [], [])


def test_a_forward_with_two_attachments_becomes_the_wrapper_and_two_originals() -> None:
    raw = attach([A, B], encodings=[None, "base64"])
    item = plan.plan(raw)
    assert item.kind == plan.WRAPPER and item.raw == raw
    assert [(c.kind, c.raw, c.path, c.encoding) for c in item.children] == [
        (plan.ATTACHED, A, "2", ""),
        (plan.ATTACHED, B, "3", "base64"),
    ]
    assert item.children[1].notes[0]["code"] == "intake.decoded"
    assert [c.subject for c in item.children] == ["first original", "second original"]


def test_only_so_many_originals_are_taken_from_one_forward() -> None:
    item = plan.plan(attach([A] * (plan.MAX_ORIGINALS + 3)))
    assert len(item.children) == plan.MAX_ORIGINALS
    assert item.notes[-1]["code"] == "intake.too-many-originals"


def test_a_message_that_is_itself_message_rfc822_holds_one_original() -> None:
    raw = b"Content-Type: message/rfc822\r\nSubject: wrapper\r\n\r\n" + A
    item = plan.plan(raw)
    assert item.kind == plan.DIRECT  # the top entity is the delivered message itself


def test_the_subject_is_decoded_for_display() -> None:
    raw = b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx"
    assert plan.subject_of(raw) == "café"
    assert plan.subject_of(b"\xff\xfe garbage") == ""


def test_the_fallback_keeps_the_delivered_message_alone() -> None:
    item = plan.fallback(b"raw", RuntimeError("boom"))
    assert item.kind == plan.DIRECT and item.notes[0]["code"] == "intake.not-taken-apart"


def test_the_message_logic_imports_no_django() -> None:
    import ast
    from pathlib import Path

    package = Path(plan.__file__).parent
    pure = ["mime.py", "inline.py", "plan.py", "sender_auth.py"]
    offences = []
    for name in pure:
        tree = ast.parse((package / name).read_text())
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            offences += [
                f"{name} imports {m}"
                for m in modules
                if m.split(".")[0] in {"django", "celery", "dkim2web"}
            ]
    assert offences == []


def test_the_mailbox_reads_bounces_through_the_engines_public_modules() -> None:
    """Reading a bounce is protocol logic (analysis.dsn): no intake module reaches into the
    engine's private modules for it."""
    import ast
    from pathlib import Path

    private = {"analysis.dkim2.canonical", "analysis.dkim2.fields", "analysis.dkim2.grammar"}
    private |= {"analysis.message"}
    offences = []
    for path in sorted(Path(plan.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            offences += [f"{path.name} imports {n}" for n in names if n in private]
    assert offences == []

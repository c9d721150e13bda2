"""The upload form: .eml files and/or pasted source, and an optional final envelope."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from . import input_check
from .filenames import filename_problem
from .presenters import InputNote, format_size, sniff_input

# Error codes the view turns into HTTP statuses.
TOO_LARGE = "too_large"
TOO_MANY = "too_many"
NOT_MAIL = "not_mail"  # not an e-mail message: binary, or no header fields

MAX_RECIPIENTS = 100


@dataclass
class Submission:
    """One message to store: its bytes exactly as received and where they came from."""

    raw: bytes
    filename: str  # "" for pasted source
    note: InputNote | None = None


@dataclass
class CleanedUpload:
    messages: list[Submission] = field(default_factory=list)
    mail_from: str = ""
    rcpt_to: list[str] = field(default_factory=list)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.Field):
    """Every file chosen in one <input type=file multiple>, unvalidated (the form checks)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, data: Any) -> list[UploadedFile]:
        if not data:
            return []
        if isinstance(data, list | tuple):
            return [f for f in data if f is not None]
        return [data]


def split_recipients(text: str) -> list[str]:
    """RCPT TO addresses, one per line or separated by commas or blanks."""
    return [a for a in re.split(r"[\s,;]+", text) if a]


def max_message_bytes() -> int:
    return int(settings.DKIM2WEB_MAX_MESSAGE_BYTES)


def max_files() -> int:
    return int(settings.DKIM2WEB_MAX_FILES_PER_UPLOAD)


def size_words(size: int) -> str:
    """``25.0 MB (26214401 bytes)``, or ``106 bytes`` when that says it all."""
    short = format_size(size)
    return short if short.endswith(" bytes") else f"{short} ({size} bytes)"


def _display_name(upload: UploadedFile) -> str:
    return upload.name or "(unnamed file)"


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Message files (.eml)",
        widget=MultipleFileInput(attrs={"accept": ".eml,.txt,message/rfc822,text/plain"}),
    )
    raw_text = forms.CharField(
        label="…or paste the raw source",
        required=False,
        strip=False,  # leading and trailing blanks are part of the message
        widget=forms.Textarea(
            attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off", "wrap": "off"}
        ),
    )
    mail_from = forms.CharField(
        label="MAIL FROM",
        required=False,
        max_length=998,
        widget=forms.TextInput(
            attrs={"placeholder": "<bounces@lists.example.org>", "autocomplete": "off"}
        ),
    )
    rcpt_to = forms.CharField(
        label="RCPT TO",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "<you@example.net>", "autocomplete": "off"}
        ),
        help_text="One address per line; several are allowed.",
    )
    # The signed token of the files "Guess the envelope" kept (held.py); the view reads it.
    held = forms.CharField(required=False, max_length=10_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, kept: list[Submission] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Files kept from "Guess the envelope", standing for the file input when no file
        # is chosen (the view passes them only then).
        self.kept = list(kept or [])

    def clean_rcpt_to(self) -> list[str]:
        recipients = split_recipients(self.cleaned_data.get("rcpt_to") or "")
        if len(recipients) > MAX_RECIPIENTS:
            raise forms.ValidationError(
                f"At most {MAX_RECIPIENTS} RCPT TO addresses, please ({len(recipients)} given)."
            )
        for address in recipients:
            if len(address) > 998:
                raise forms.ValidationError("An RCPT TO address is longer than 998 characters.")
        return recipients

    def clean_mail_from(self) -> str:
        value = (self.cleaned_data.get("mail_from") or "").strip()
        if any(c.isspace() for c in value):
            raise forms.ValidationError(
                "MAIL FROM is one address (use <> for a null sender); it has blanks in it."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        uploads: list[UploadedFile] = cleaned.get("files") or []
        text: str = cleaned.get("raw_text") or ""
        pasted = text if text.strip() else ""

        if not uploads and not pasted and not self.kept:
            raise forms.ValidationError(
                "Choose at least one .eml file or paste a message's raw source.", code="empty"
            )
        count = len(uploads) + len(self.kept) + (1 if pasted else 0)
        if count > max_files():
            raise forms.ValidationError(
                f"{count} messages were sent; at most {max_files()} can be analysed at once. "
                "Nothing was stored: upload them in smaller groups.",
                code=TOO_MANY,
            )

        limit = max_message_bytes()
        problems: list[forms.ValidationError] = []
        messages: list[Submission] = []
        for upload in uploads:
            name = _display_name(upload)
            # Django's multipart parser drops non-printable characters from a file's name
            # already; this holds whatever parsed the request.
            problem = filename_problem(
                name, label="The file name", advice="rename the file and upload it again."
            )
            if problem is not None:
                problems.append(forms.ValidationError(f"{problem} Nothing was stored."))
                continue
            if upload.size is not None and upload.size > limit:
                problems.append(
                    forms.ValidationError(
                        f"{name} is {size_words(upload.size)}; the limit is "
                        f"{size_words(limit)} per message. Nothing was stored.",
                        code=TOO_LARGE,
                    )
                )
                continue
            raw = b"".join(upload.chunks())
            messages.append(Submission(raw=raw, filename=name))
        messages.extend(Submission(raw=k.raw, filename=k.filename) for k in self.kept)
        if pasted:
            # The browser sends a textarea with CRLF line ends (the wire form of mail); the
            # text is kept as sent, encoded as UTF-8.
            raw = pasted.encode("utf-8")
            if len(raw) > limit:
                problems.append(
                    forms.ValidationError(
                        f"The pasted source is {size_words(len(raw))}; the limit is "
                        f"{size_words(limit)} per message. Nothing was stored.",
                        code=TOO_LARGE,
                    )
                )
            else:
                messages.append(Submission(raw=raw, filename=""))

        for message in messages:
            label = message.filename or "The pasted source"
            if not message.raw:
                problems.append(
                    forms.ValidationError(f"{label} is empty: there is nothing to analyse.")
                )
                continue
            message.note = sniff_input(message.raw)
            refused = input_check.refusal(message.raw)
            if refused is not None:
                problems.append(
                    forms.ValidationError(f"{label}: {refused} Nothing was stored.", code=NOT_MAIL)
                )
        if problems:
            raise forms.ValidationError(problems)

        mail_from = cleaned.get("mail_from") or ""
        rcpt_to = cleaned.get("rcpt_to") or []
        if bool(mail_from) != bool(rcpt_to) and "mail_from" not in self.errors:
            raise forms.ValidationError(
                "Give both MAIL FROM and RCPT TO, or neither (write <> for a null MAIL FROM).",
                code="envelope",
            )
        cleaned["upload"] = CleanedUpload(messages=messages, mail_from=mail_from, rcpt_to=rcpt_to)
        return cleaned

    def has_code(self, code: str) -> bool:
        return any(e.code == code for e in self.non_field_errors().as_data())


class EnvelopeForm(forms.Form):
    """MAIL FROM and RCPT TO for analysing a stored message again."""

    mail_from = UploadForm.base_fields["mail_from"]
    rcpt_to = UploadForm.base_fields["rcpt_to"]

    clean_mail_from = UploadForm.clean_mail_from
    clean_rcpt_to = UploadForm.clean_rcpt_to

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (not cleaned.get("mail_from") or not cleaned.get("rcpt_to")) and not self.errors:
            raise forms.ValidationError(
                "Give both MAIL FROM and RCPT TO (write <> for a null MAIL FROM)."
            )
        return cleaned


class RevisionForm(forms.Form):
    """How a re-run verifies: the DKIM2 draft revision it judges by (absent: the analysis's
    own), as of when (absent: now; "arrival": the message's arrival time, which the view reads
    from the stored report, never from the request) and in compatibility mode or not."""

    revision = forms.ChoiceField(label="Draft revision", required=False, choices=[])
    as_of = forms.ChoiceField(
        label="Verify as of",
        required=False,
        choices=[("", "now"), ("arrival", "the arrival time")],
        error_messages={
            "invalid_choice": "A re-run verifies as of now or as of the message's arrival time."
        },
    )
    compat = forms.BooleanField(label="Compatibility mode", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .revision_views import revision_choices, run_revision_words

        choices = revision_choices()
        field = self.fields["revision"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        # The value sent is not repeated: it may be anything, of any length.
        field.error_messages["invalid_choice"] = (
            "That is not a DKIM2 draft revision dkim2web knows; choose one of "
            + ", ".join(run_revision_words(value) for value, _ in choices)
            + "."
        )

    def clean_revision(self) -> str | None:
        return self.cleaned_data.get("revision") or None


#: Longest search text of the list of analyses (characters).
MAX_SEARCH_CHARS = 200


class AnalysisSearchForm(forms.Form):
    """The list of analyses' search box and verdict filter (a GET form)."""

    q = forms.CharField(
        label="Search From, Subject or file name",
        required=False,
        max_length=MAX_SEARCH_CHARS,
        error_messages={
            "max_length": f"The search text is longer than {MAX_SEARCH_CHARS} characters; "
            "it was not applied."
        },
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    verdict = forms.ChoiceField(
        label="Verdict",
        required=False,
        error_messages={"invalid_choice": "That is not a verdict; the filter was not applied."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .mechanism_views import VERDICT_LABELS, mechanism_label
        from .models import AnalysisRun

        field = self.fields["verdict"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any verdict")] + [
            (value, _verdict_choice(mechanism_label(value), VERDICT_LABELS.get(value, "")))
            for value in AnalysisRun.Result.values
        ]


def _verdict_choice(label: str, words: str) -> str:
    """``Pass (trusted)``; a label alone where the words only repeat it (errors)."""
    if not words or words.startswith("Not decided"):
        return label
    return f"{label} ({words[0].lower()}{words[1:]})"

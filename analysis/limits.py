"""Hard limits that bound the engine's work on hostile input.

BCP01 §7.5 and §8 ask verifiers to impose a local maximum on the number of
Message-Instance and DKIM2-Signature fields and to return PERMERROR above it
(SPEC-NOTES §9).  Every number the engine enforces lives here, named, and each
has a test in ``tests/analysis/test_limits.py``.
"""

from __future__ import annotations

#: Largest message accepted, in octets (the product's upload limit).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024

#: Largest header block (everything before the first empty line), in octets.
MAX_HEADER_BYTES = 1024 * 1024

#: Most header fields in one header block.
MAX_HEADER_FIELDS = 5000

#: Most DKIM2-Signature fields in one message (BCP01 §7.5: no number given;
#: implementations use 20-50).
MAX_SIGNATURES = 50

#: Most Message-Instance fields in one message.
MAX_INSTANCES = 50

#: Most digits in an ``i=`` or ``m=`` value (caps the integer before it is built).
MAX_NUMBER_DIGITS = 4

#: Most digits in a ``t=`` value ("not limited to 32 bits", S06 §8.4; 20 digits
#: covers any 64-bit timestamp).
MAX_TIMESTAMP_DIGITS = 20

#: Most entries in one ``s=`` (selector sets) or ``h=`` (hash sets) or ``rt=``.
MAX_SIG_SETS = 8
MAX_HASH_SETS = 8
MAX_RECIPIENTS = 1000

#: Longest nonce (S06 §8.3: "MUST NOT exceed 64 characters").
MAX_NONCE_CHARS = 64

#: Largest decoded ``r=`` JSON text, in octets.
MAX_RECIPE_JSON_BYTES = 4 * 1024 * 1024

#: Most steps in one recipe step list.
MAX_RECIPE_STEPS = 100_000

#: A recipe may not make an instance larger than this multiple of the message's
#: size (plus :data:`RECIPE_OUTPUT_SLACK` octets), so copy steps cannot blow up
#: memory (issue #2: "Bound the work").
RECIPE_OUTPUT_FACTOR = 4
RECIPE_OUTPUT_SLACK = 64 * 1024

#: Total octets all reconstructed instances together may amount to, as a multiple of the
#: message size (plus the slack above): the work of hashing them.  Rebuilt bodies share the
#: message's octets (analysis.message.Body), so this bounds time, not memory; an honest chain
#: at the instance limit (MAX_INSTANCES instances, each about the size of the message) fits.
#: Past it the chain is TEMPERROR "limits.reconstruction-too-large": the analyser could not
#: finish, which says nothing against the signers (issue #11, finding 9).
TOTAL_RECONSTRUCTION_FACTOR = 64

#: Memory all reconstructed instances together may hold beyond the message, as a multiple
#: of its size plus RECONSTRUCTION_MEMORY_SLACK octets: the recipes' literals (added lines,
#: rebuilt header fields) and the pieces rebuilt bodies are made of.  Literals travel inside
#: the message's recipes and an honest chain's bodies are a few pieces each, so an honest
#: chain holds far less; literals that amplify (a long field name emitted many times) and
#: recipes of many steps copied down many instances can reach it.
RECONSTRUCTION_MEMORY_FACTOR = 2
RECONSTRUCTION_MEMORY_SLACK = 1024 * 1024

#: Most key lookups the engine asks for in one message: one per signature at the signature
#: limit, so a genuine long chain is never refused for its length alone.
MAX_KEY_LOOKUPS = MAX_SIGNATURES

#: Most distinct DNS questions one message's analysis may send, every mechanism together:
#: the DKIM2 keys at the signature limit, the DKIM1 and ARC keys, SPF's ten lookups and
#: their MX and PTR names for both identities (about 250 at worst), and DMARC's tree
#: walks (analysis.evidence.MessageDns).
MAX_DNS_QUERIES = 500

#: Most records of one DNS answer kept in a report's evidence, and the longest kept, in
#: characters (an RSA-8192 key record is about 1,400; anything longer is cut, saying so).
MAX_EVIDENCE_RECORDS = 10
MAX_EVIDENCE_RECORD_CHARS = 4096

#: Characters of DNS records kept in one report's evidence, every answer together (the
#: DKIM2 chain's own key answers aside); past it answers are kept without their records.
MAX_EVIDENCE_CHARS = 256 * 1024

#: Seconds all of one message's DNS questions may take together (the default of
#: DKIM2WEB_DNS_BUDGET_SECONDS).
DNS_BUDGET_SECONDS = 10.0

#: RSA modulus sizes: S06 §3.2 makes signers use at least 1024 bits; shorter
#: keys are treated as key-record problems (SPEC-NOTES Annex C 2).  Longer than
#: MAX is refused to bound verification cost.
MIN_RSA_BITS = 1024
MAX_RSA_BITS = 8192

#: Signature lifetime (S06 §8.4, §11.3: 14 days).
SIGNATURE_LIFETIME_SECONDS = 14 * 24 * 3600

#: A ``t=`` further in the future than this is reported (S06 §8.4: "MAY
#: ignore"; SPEC-NOTES §11 A18).
FUTURE_SKEW_SECONDS = 15 * 60

#: Longest unified body diff kept in a report, in lines.
MAX_DIFF_LINES = 5000

#: Longest line of a body diff kept in a report, in octets of the message: a longer line is
#: cut and ends with a marker saying how many octets were cut.
MAX_DIFF_LINE_OCTETS = 1000

#: Text of one body diff kept in a report, in octets (its lines together, UTF-8).
MAX_DIFF_BYTES = 256 * 1024

#: Text of all body diffs of one report together, in octets; the diffs past it say so.
MAX_REPORT_DIFF_BYTES = 1024 * 1024

#: Lines of each side of a differing window read to compute a minimal diff (difflib), and
#: the comparisons (lines before times lines after) it may cost (difflib is quadratic); a
#: larger window is shown as replaced (the lines before, then the lines after).  A signer
#: computing a recipe matches a larger window line for line at the same position.
MAX_DIFF_WINDOW_LINES = 20_000
MAX_DIFF_COMPARISONS = 4_000_000

#: Header field values listed for the instances of one report, in characters, every
#: instance together; past it the fields are counted, not listed.
MAX_REPORT_INSTANCE_FIELD_CHARS = 512 * 1024

#: Largest report, in octets of its JSON text (what is stored).  Past it the report is
#: trimmed, largest derived part first, and says what was trimmed (analysis.report_budget).
MAX_REPORT_BYTES = 4 * 1024 * 1024


# -- the other mechanisms (issue #9) ---------------------------------------------------------

#: Most DKIM-Signature (DKIM1) fields verified in one message; the rest are listed as not
#: verified, saying this limit was reached (RFC 6376 §6.1 lets a verifier stop early).
MAX_DKIM1_SIGNATURES = 20

# DKIM1 and ARC fields (analysis.dkim1, analysis.arc)

#: Longest DKIM-Signature (or ARC) field value parsed, in octets.  A 16384-bit RSA ``b=`` is
#: 2.8 KB of base64 and a long ``h=`` a few KB; anything longer is reported, not parsed.
MAX_DKIM1_FIELD_BYTES = 32 * 1024

#: Most tags in one tag list (RFC 6376 §3.5 defines 14 for a signature).
MAX_DKIM1_TAGS = 64

#: Most header field names in one ``h=`` (each costs a walk over the header block).
MAX_DKIM1_SIGNED_FIELDS = 256

#: Longest RSA public exponent accepted, in bits (real keys use 65537, 17 bits; dkimpy's
#: RSA is pure Python and a modulus-sized exponent costs about a second per check).
MAX_RSA_EXPONENT_BITS = 64

#: DKIM-Signature fields listed (not verified) after the first MAX_DKIM1_SIGNATURES;
#: beyond that they are only counted, so a hostile message cannot grow the report.
MAX_DKIM1_UNVERIFIED_LISTED = 20

#: Most ARC sets: RFC 8617 §4.2.1 caps the instance number at 50, and a chain longer than
#: that fails (§5.2).
MAX_ARC_INSTANCES = 50

#: Most Authentication-Results and ARC-Authentication-Results fields read in one message.
MAX_AUTHRES_FIELDS = 100

#: Longest Authentication-Results field parsed, in octets; a longer one is shown, not parsed.
MAX_AUTHRES_FIELD_BYTES = 16 * 1024

#: Most Received fields read (the trace of a long path; RFC 5321 §6.3 loop detection
#: counts a hundred or so).
MAX_RECEIVED_FIELDS = 200

#: Longest text of any one value copied from the message into a report (a field, a
#: comment, a reason), in characters for ASCII text and in octets of the stored report
#: otherwise (a character outside ASCII takes 6: analysis.textsize); longer text is cut and
#: says so.
MAX_REPORT_TEXT_CHARS = 2000

# -- SPF (analysis.spf; the first four are RFC 7208 §4.6.4's own) ----------------------------

#: Terms that query DNS (include, a, mx, ptr, exists, redirect) per check.
SPF_DNS_TERM_LIMIT = 10

#: DNS questions per check that find nothing (NODATA or NXDOMAIN).
SPF_VOID_LOOKUP_LIMIT = 2

#: MX records one ``mx`` term may bring (more: permerror).
SPF_MX_NAME_LIMIT = 10

#: PTR names validated for ``ptr`` and ``%{p}`` (the rest are ignored).
SPF_PTR_NAME_LIMIT = 10

#: Longest SPF record evaluated, in characters (pyspf's parser is quadratic on some long
#: terms; RFC 7208 §3.4 advises records under 450 octets).  Longer: permerror.
MAX_SPF_RECORD_CHARS = 4096

#: Longest exp= text used (§6.2; an SMTP reply line holds 512 octets); longer: ignored.
MAX_SPF_EXPLANATION_CHARS = 1024

#: Most DNS questions one check may send: the RFC's worst case is 10 terms of 11 questions
#: (an mx name and its 10 exchanges) plus the first record and the exp= texts.
MAX_SPF_DNS_QUESTIONS = 150

#: Most trace steps kept in one report (both identities); the rest are counted.
MAX_SPF_TRACE_STEPS = 200

#: Longest text of one trace step, in characters.
MAX_SPF_TRACE_TEXT_CHARS = 300

# -- DMARC (analysis.dmarc) ------------------------------------------------------------------

#: Most DMARC questions one DNS Tree Walk asks (RFC 9989 §4.10: "Author Domains with more
#: than eight labels do not result in more than eight DNS queries").  Not a local choice.
MAX_DMARC_WALK_QUESTIONS = 8

#: Longest From field read, in characters (a list of a hundred addresses fits; hostile
#: input beyond this is refused with a finding instead of being scanned).
MAX_FROM_FIELD_CHARS = 16 * 1024

#: Most authenticated identifiers read (one SPF, MAX_DKIM1_SIGNATURES, MAX_SIGNATURES and
#: some slack); the rest are not evaluated, and the report says so.
MAX_DMARC_IDENTIFIERS = 100

#: Most identifier domains whose Organizational Domain is looked up by a tree walk (each
#: walk asks at most eight questions, most of them shared with the others).
MAX_DMARC_ALIGNMENT_WALKS = 8

# -- Authentication-Results (analysis.authres) -----------------------------------------------

#: Most results read from one field; the rest are counted, not read.
MAX_AUTHRES_METHODS_PER_FIELD = 50

#: Deepest comment nesting handed to the ``authres`` package (its parser recurses once per
#: level); a field nested deeper is read by the tolerant reader only.
MAX_AUTHRES_COMMENT_DEPTH = 8

#: Most octets of one message's fields handed to the ``authres`` package altogether (it
#: costs about 10 microseconds per octet); the fields past this budget are read by the
#: tolerant reader only.
MAX_AUTHRES_STRICT_BYTES = 32 * 1024

# -- Received fields (analysis.received) -----------------------------------------------------

#: Longest date text handed to the date parser (a real date is about 40 characters).
MAX_RECEIVED_DATE_CHARS = 200

#: Most problem descriptions listed in one finding's detail; the rest are counted.
MAX_RECEIVED_LISTED_PROBLEMS = 10

# -- the verdict (analysis.verdict) ------------------------------------------------------

#: Most forged Authentication-Results claims named in the verdict (the receivers section
#: lists every field).
MAX_VERDICT_FORGED_CLAIMS = 5

#: Characters of a name taken from the message (a signing domain) in the verdict's headline
#: (analysis.headline); a longer one is cut and ends with "…".
MAX_HEADLINE_NAME_CHARS = 80

#: Findings kept as the verdict's evidence (the ones its headline rests on).
MAX_VERDICT_EVIDENCE = 4

# -- MIME structure and bounces (analysis.mime, analysis.dsn) --------------------------------

#: Deepest MIME nesting walked (a multipart inside a multipart ...); deeper parts are not
#: examined, and the walk says so.
MAX_MIME_DEPTH = 10

#: Most MIME entities one walk records; the rest are not examined, and the walk says so.
MAX_MIME_PARTS = 1000

#: Octets of a bounce's delivery-status part read (RFC 3464 §2: its per-message and
#: per-recipient field blocks); the rest is not read, and the report says so.  A real one
#: is well under a kilobyte a recipient.
MAX_DSN_STATUS_BYTES = 1024 * 1024

#: Recipients of one bounce listed in a report, each with its status explained; the others
#: are counted, not listed (a bounce of a message to a large list can name thousands).
MAX_DSN_RECIPIENTS = 100

#: Longest value of a delivery-status field kept, in characters (a Diagnostic-Code holds a
#: server's reply, a few hundred characters when multi-line); longer values are cut and say so.
MAX_DSN_FIELD_CHARS = 1000

#: Fields kept from one field block (RFC 3464 defines eleven for a recipient; the rest are
#: extensions); the others are counted.
MAX_DSN_FIELDS_PER_BLOCK = 40

#: Characters of the bounce's human-readable part kept for the page.
MAX_DSN_HUMAN_CHARS = 2000

#: Bounces inside bounces whose returned message is analysed on its own: a bounce's returned
#: message that is itself a bounce returns one more, and so on, this many levels at most (a
#: hostile upload nesting thousands would otherwise become thousands of analyses).
MAX_DSN_NESTING = 3

# -- delivery time (analysis.delivery_time) -------------------------------------------------

#: Most clock flags (out-of-order, future, Date after Received, signature clocks) kept in
#: one report; the rest are counted.  Every hop can carry two, so a long hostile trace of
#: made-up dates would otherwise grow the report with MAX_RECEIVED_FIELDS.
MAX_DELIVERY_FLAGS = 50

#: Most signatures placed on Received hops (DKIM2 at the signature limit, the DKIM1
#: signatures verified and listed, ARC at its instance limit); the rest are counted.
MAX_DELIVERY_PLACEMENTS = (
    MAX_SIGNATURES + MAX_DKIM1_SIGNATURES + MAX_DKIM1_UNVERIFIED_LISTED + MAX_ARC_INSTANCES
)

# -- the change search (analysis.change_search) ----------------------------------------------

#: Candidate edits the change searches of one message may try, every search together (DKIM2
#: instances and DKIM1 signatures); past it the search stops and says so.
MAX_CHANGE_SEARCH_CANDIDATES = 500

#: Octets the change searches of one message may read and hash together: each search's
#: content once, to find its candidates, and each candidate body or header block built and
#: hashed (a 50 KB body tried in every way costs about 3 MB; a message at the size limit is
#: read and tried once); past it the search stops and says so.
MAX_CHANGE_SEARCH_OCTETS = 64 * 1024 * 1024

#: Octets of diff text the change searches of one message keep together.
MAX_CHANGE_SEARCH_DIFF_BYTES = 64 * 1024

#: Octets a header candidate is charged per header field it hashes, besides the field's own:
#: the work of canonicalising a field in Python, which its octets do not measure.  A header
#: of thousands of fields then gets a few candidates, not MAX_CHANGE_SEARCH_CANDIDATES.
CHANGE_SEARCH_FIELD_COST = 2048

#: MIME parts the change search looks at, every level of nesting together (a hostile
#: message of 10,000 parts costs what one of this many does).
MAX_CHANGE_SEARCH_PARTS = 50

#: Lines tried as a footer at the end of the body (1, 2, ... this many).
MAX_CHANGE_SEARCH_EDGE_LINES = 40

#: Lines tried as a banner at the start of the body, and as a footer or banner at either
#: end of each MIME part.
MAX_CHANGE_SEARCH_PART_EDGE_LINES = 12

#: Most lines of a body or MIME part the change search rewraps (undoing wrapped lines goes
#: line by line in Python; a longer text is not tried for wrapping).
MAX_CHANGE_SEARCH_LINES = 20_000

#: Header edits combined in pairs (a list tags the Subject and adds List-Id): the first this
#: many single edits, at most this many times this many less one, halved, pairs.
MAX_CHANGE_SEARCH_PAIRED = 24

#: Characters kept of a message's From and Subject for lists of analyses (decoded, blanks
#: collapsed); a longer one is cut and ends with "…". dkim2web's Analysis model stores them
#: in columns of this length.
MAX_SUMMARY_FIELD_CHARS = 200

#: Characters of a From or Subject value read before RFC 2047 decoding (a hostile field
#: of 1 MB is cut before the decoder sees it).
MAX_SUMMARY_FIELD_SOURCE_CHARS = 4000

#: Octets of the start of a submitted message read to find its header fields for the
#: submission checks (is there a header at all; From and Subject for lists): the largest
#: header block the engine analyses.
SUBMISSION_HEAD_BYTES = MAX_HEADER_BYTES

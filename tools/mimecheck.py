# Copied from the team's shared tools (shared/tools/mimecheck.py) so that tests run from a clean clone.
"""Check an RFC 5322 / MIME message with independent parsers: Python's email package + the abnf RFC 5322 grammar."""
import sys, email, email.policy, time
from email.parser import BytesParser
from abnf.grammars import rfc5322
from abnf import ParseError

def header_grammar_errors(raw: bytes):
    """Parse each header field of the top-level header block against RFC 5322's own ABNF."""
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n" if b"\r\n\r\n" in raw else None
    if head is None:
        return ["header/body separator is not CRLF CRLF (bare LF line endings?)"]
    errs, fields, cur = [], [], b""
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t"): cur += b"\r\n" + line
        else:
            if cur: fields.append(cur)
            cur = line
    if cur: fields.append(cur)
    rule_for = {"from": "from", "to": "to", "cc": "cc", "bcc": "bcc", "reply-to": "reply-to", "sender": "sender",
                "date": "orig-date", "message-id": "message-id", "in-reply-to": "in-reply-to",
                "references": "references", "subject": "subject"}
    seen = {}
    for f in fields:
        name = f.split(b":", 1)[0].decode("ascii", "replace").lower()
        seen[name] = seen.get(name, 0) + 1
        if len(max(f.split(b"\r\n"), key=len)) > 998: errs.append(f"{name}: line longer than 998 octets")
        try:
            text = f.decode("ascii")
        except UnicodeDecodeError:
            errs.append(f"{name}: raw 8-bit bytes in header (needs RFC 2047 encoded-words)"); continue
        try:
            rfc5322.Rule(rule_for.get(name, "optional-field")).parse_all(text + "\r\n")
        except ParseError as e:
            errs.append(f"{name}: does not match RFC 5322 '{rule_for.get(name, 'optional-field')}' ({e})")
    for req in ("from", "date"):
        if req not in seen: errs.append(f"missing required field {req} (RFC 5322 3.6)")
    for once in ("from", "date", "to", "cc", "bcc", "subject", "message-id", "sender", "reply-to", "in-reply-to", "references"):
        if seen.get(once, 0) > 1: errs.append(f"field {once} occurs {seen[once]} times (max 1)")
    return errs

def check(raw: bytes):
    problems = []
    msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    for part in msg.walk():
        if not part.is_multipart():       # decode first: base64/QP defects are only recorded on decode
            try: part.get_content()
            except Exception as e: problems.append(f"part {part.get_content_type()}: content undecodable: {e}")
        problems += [f"part {part.get_content_type()}: {type(d).__name__}: {d}" for d in part.defects]
        for k, v in part.items():
            problems += [f"header {k}: {type(d).__name__}: {d}" for d in getattr(v, "defects", ())]
    if b"\n" in raw.replace(b"\r\n", b""): problems.append("bare LF line endings (RFC 5322 requires CRLF)")
    if any(len(l.rstrip(b"\r")) > 998 for l in raw.split(b"\n")): problems.append("a line is longer than 998 octets")
    problems += header_grammar_errors(raw)
    try:
        BytesParser(policy=email.policy.strict).parsebytes(raw)
    except Exception as e:
        problems.append(f"policy.strict raised {type(e).__name__}: {e}")
    return problems

if __name__ == "__main__":
    for path in sys.argv[1:]:
        t = time.time(); p = check(open(path, "rb").read())
        print(f"{path}: {'OK' if not p else 'INVALID'} ({time.time()-t:.3f}s)"); [print("   -", x) for x in p]

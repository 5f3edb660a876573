"""Google's own Python client (google-api-python-client, google-auth, google-auth-oauthlib)
against a running google-emulator: consent, code exchange, Gmail calls built from the emulator's
discovery document, media uploads, batch, refresh, errors. Exits non-zero on the first mismatch.

Usage: python google_client_smoke.py http://127.0.0.1:PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNT
"""
import base64
import io
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain HTTP on loopback

from google.auth.transport.requests import Request
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

base, client_id, client_secret, redirect_uri, account = sys.argv[1:6]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


browser = urllib.request.build_opener(NoRedirect)


def submit(fields):
    """Posts one consent form; returns (next page, None) or (None, redirect location)."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        return browser.open(urllib.request.Request(f"{base}/signin/oauth/consent", data=data)).read().decode(), None
    except urllib.error.HTTPError as e:
        if e.code == 302:
            return None, e.headers["Location"]
        raise


def hidden(page):
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))


client = {"web": {"client_id": client_id, "client_secret": client_secret, "auth_uri": f"{base}/o/oauth2/v2/auth",
                  "token_uri": f"{base}/token", "redirect_uris": [redirect_uri]}}
flow = Flow.from_client_config(client, scopes=["https://mail.google.com/"], redirect_uri=redirect_uri)
auth_url, _ = flow.authorization_url(access_type="offline", prompt="consent")
page = browser.open(auth_url).read().decode()
assert "Choose an account" in page, page
page, location = submit({**hidden(page), "account": account})
while location is None:
    page, location = submit({**hidden(page), "decision": "allow"})
flow.fetch_token(authorization_response=location)
creds = flow.credentials
assert creds.token.startswith("ya29.") and creds.refresh_token.startswith("1//")

gmail = build("gmail", "v1", credentials=creds, static_discovery=False,
              discoveryServiceUrl=f"{base}/$discovery/rest?version=v1")
users = gmail.users()
profile = users.getProfile(userId="me").execute()
assert profile["emailAddress"] == account, profile

raw = f"From: {account}\r\nTo: {account}\r\nSubject: python smoke\r\n\r\nhello from google-api-python-client\r\n".encode()
sent = users.messages().send(userId="me", body={"raw": base64.urlsafe_b64encode(raw).decode()}).execute()
assert "SENT" in sent["labelIds"], sent
media = MediaIoBaseUpload(io.BytesIO(raw.replace(b"python smoke", b"python media")), mimetype="message/rfc822")
sent_media = users.messages().send(userId="me", body={}, media_body=media).execute()
inserted = users.messages().insert(
    userId="me", body={"labelIds": ["INBOX"]},
    media_body=MediaIoBaseUpload(io.BytesIO(raw.replace(b"python smoke", b"python insert")), mimetype="message/rfc822"),
).execute()
assert inserted["labelIds"] == ["INBOX"], inserted

found = users.messages().list(userId="me", q="subject:python").execute()
assert found["resultSizeEstimate"] >= 3, found
got = users.messages().get(userId="me", id=sent_media["id"], format="raw").execute()
assert base64.urlsafe_b64decode(got["raw"]).endswith(raw.replace(b"python smoke", b"python media")), got

results = []
batch = gmail.new_batch_http_request(callback=lambda rid, resp, exc: results.append(exc or resp["id"]))
for m in found["messages"]:
    batch.add(users.messages().get(userId="me", id=m["id"], format="minimal"))
batch.execute()
assert results == [m["id"] for m in found["messages"]], results

creds.token = "ya29.stale"
creds.refresh(Request())
assert users.labels().list(userId="me").execute()["labels"]
try:
    users.messages().get(userId="me", id="0123456789abcdef").execute()
    raise AssertionError("expected 404")
except HttpError as e:
    assert e.resp.status == 404 and e.reason == "Requested entity was not found.", e
print("google_client_smoke: OK")

"""Google's own Python client (google-api-python-client, google-auth, google-auth-oauthlib), unchanged,
against a running google-emulator. The client is built from Google's discovery document with only its
root URLs pointed at the emulator, as shared/tools/README.md describes. It walks: the consent and code
exchange, list with a query and with labels, get in every format, send as JSON and as media, modify,
trash and untrash, labels create/get/update/patch/delete, threads, drafts, history after those
changes, a 401 followed by the client's own token refresh against the emulator's token endpoint, and
a batch request. Exits non-zero on the first mismatch; prints one line per step.

Usage: python google_client_suite.py DISCOVERY_JSON EMULATOR_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNT OTHER_ACCOUNT
"""
import base64
import io
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain HTTP on loopback

from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

discovery_path, base, client_id, client_secret, redirect_uri, account, other = sys.argv[1:8]


def step(name):
    print(f"ok  {name}", flush=True)


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


def emulator_state():
    return json.load(urllib.request.urlopen(f"{base}/_emulator/state"))


# --- consent and code exchange (google-auth-oauthlib) -------------------------------------------
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
assert creds.token.startswith("ya29.") and creds.refresh_token.startswith("1//"), creds.token
step("consent and code exchange")

# --- the client, from Google's discovery document with its roots at the emulator -----------------
document = json.load(open(discovery_path))
for key in ("rootUrl", "mtlsRootUrl"):
    document[key] = f"{base}/"
document["baseUrl"] = f"{base}/"
gmail = build_from_document(document, credentials=creds)
users = gmail.users()
messages = users.messages()


def raw_mail(subject, to=account, extra=""):
    return (f"From: {account}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=UTF-8\r\n\r\nbody of {subject}\r\n").encode()


def b64(data):
    return base64.urlsafe_b64encode(data).decode()


profile = users.getProfile(userId="me").execute()
assert profile["emailAddress"] == account, profile
start_history = profile["historyId"]
step("getProfile")

# --- send as JSON and as media --------------------------------------------------------------------
sent = messages.send(userId="me", body={"raw": b64(raw_mail("suite json", to=other))}).execute()
assert "SENT" in sent["labelIds"], sent
media = MediaIoBaseUpload(io.BytesIO(raw_mail("suite media", to=other)), mimetype="message/rfc822")
sent_media = messages.send(userId="me", body={}, media_body=media).execute()
assert sent_media["id"] != sent["id"]
step("messages.send (JSON and media upload)")
inserted = messages.insert(userId="me", body={"labelIds": ["INBOX", "UNREAD"]},
                           media_body=MediaIoBaseUpload(io.BytesIO(raw_mail("suite insert")), mimetype="message/rfc822")
                           ).execute()
imported = messages.import_(userId="me", body={"raw": b64(raw_mail("suite import")), "labelIds": ["INBOX"]},
                            internalDateSource="dateHeader").execute()
assert inserted["labelIds"] == ["INBOX", "UNREAD"] and imported["labelIds"] == ["INBOX"], (inserted, imported)
step("messages.insert and messages.import")

# --- list with a query and with labels --------------------------------------------------------------
found = messages.list(userId="me", q="subject:suite in:sent").execute()
assert {m["id"] for m in found["messages"]} == {sent["id"], sent_media["id"]}, found
in_inbox = messages.list(userId="me", labelIds=["INBOX", "UNREAD"], q="suite").execute()
assert [m["id"] for m in in_inbox["messages"]] == [inserted["id"]], in_inbox
page1 = messages.list(userId="me", maxResults=1).execute()
page2 = messages.list(userId="me", maxResults=1, pageToken=page1["nextPageToken"]).execute()
assert page1["messages"][0]["id"] != page2["messages"][0]["id"]
step("messages.list with q, labelIds and paging")

# --- get in every format ------------------------------------------------------------------------------
full = messages.get(userId="me", id=sent["id"]).execute()
assert full["payload"]["mimeType"] == "text/plain" and "suite json" in json.dumps(full["payload"]["headers"]), full
metadata = messages.get(userId="me", id=sent["id"], format="metadata", metadataHeaders=["Subject"]).execute()
assert [h["name"] for h in metadata["payload"]["headers"]] == ["Subject"], metadata
minimal = messages.get(userId="me", id=sent["id"], format="minimal").execute()
assert "payload" not in minimal and minimal["labelIds"], minimal
raw = messages.get(userId="me", id=sent_media["id"], format="raw").execute()
assert base64.urlsafe_b64decode(raw["raw"]).endswith(b"body of suite media\r\n"), raw
partial = messages.get(userId="me", id=sent["id"], fields="id,labelIds").execute()
assert set(partial) == {"id", "labelIds"}, partial
step("messages.get in full, metadata, minimal and raw (and fields)")

# --- modify, trash, untrash ---------------------------------------------------------------------------
modified = messages.modify(userId="me", id=inserted["id"], body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}).execute()
assert "STARRED" in modified["labelIds"] and "UNREAD" not in modified["labelIds"], modified
trashed = messages.trash(userId="me", id=inserted["id"]).execute()
assert "TRASH" in trashed["labelIds"] and "INBOX" not in trashed["labelIds"], trashed
untrashed = messages.untrash(userId="me", id=inserted["id"]).execute()
assert "TRASH" not in untrashed["labelIds"] and "INBOX" in untrashed["labelIds"], untrashed
step("messages.modify, trash and untrash")

# --- labels CRUD ---------------------------------------------------------------------------------------
labels = users.labels()
label = labels.create(userId="me", body={"name": "Suite", "labelListVisibility": "labelShow",
                                          "messageListVisibility": "show"}).execute()
assert labels.get(userId="me", id=label["id"]).execute()["name"] == "Suite"
assert labels.patch(userId="me", id=label["id"], body={"name": "Suite 2"}).execute()["name"] == "Suite 2"
updated = labels.update(userId="me", id=label["id"], body={"id": label["id"], "name": "Suite 3",
                                                         "labelListVisibility": "labelHide",
                                                         "messageListVisibility": "hide"}).execute()
assert updated["labelListVisibility"] == "labelHide", updated
messages.modify(userId="me", id=sent["id"], body={"addLabelIds": [label["id"]]}).execute()
assert labels.get(userId="me", id=label["id"]).execute()["messagesTotal"] == 1
labels.delete(userId="me", id=label["id"]).execute()
try:
    labels.get(userId="me", id=label["id"]).execute()
    raise AssertionError("a deleted label was found")
except HttpError as e:
    assert e.resp.status == 404, e
assert any(l["id"] == "INBOX" for l in labels.list(userId="me").execute()["labels"])
step("labels create, get, patch, update, delete, list")

# --- threads -------------------------------------------------------------------------------------------
reply_raw = raw_mail("Re: suite json", to=other,
                     extra=f"In-Reply-To: {next(h['value'] for h in full['payload']['headers'] if h['name'].lower() == 'message-id')}\r\n")
reply = messages.send(userId="me", body={"raw": b64(reply_raw), "threadId": sent["threadId"]}).execute()
assert reply["threadId"] == sent["threadId"], reply
threads = users.threads()
listed = threads.list(userId="me", q="subject:suite").execute()
assert any(t["id"] == sent["threadId"] for t in listed["threads"]), listed
thread = threads.get(userId="me", id=sent["threadId"]).execute()
assert [m["id"] for m in thread["messages"]] == [sent["id"], reply["id"]], thread
threads.modify(userId="me", id=sent["threadId"], body={"addLabelIds": ["IMPORTANT"]}).execute()
assert all("IMPORTANT" in m["labelIds"] for m in threads.get(userId="me", id=sent["threadId"], format="minimal").execute()["messages"])
threads.trash(userId="me", id=sent["threadId"]).execute()
threads.untrash(userId="me", id=sent["threadId"]).execute()
step("threads list, get, modify, trash, untrash")

# --- drafts --------------------------------------------------------------------------------------------
drafts = users.drafts()
draft = drafts.create(userId="me", body={"message": {"raw": b64(raw_mail("suite draft", to=other))}}).execute()
assert drafts.get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]
drafts.update(userId="me", id=draft["id"], body={"message": {"raw": b64(raw_mail("suite draft 2", to=other))}}).execute()
assert any(d["id"] == draft["id"] for d in drafts.list(userId="me").execute()["drafts"])
sent_draft = drafts.send(userId="me", body={"id": draft["id"]}).execute()
assert "SENT" in sent_draft["labelIds"], sent_draft
doomed = drafts.create(userId="me", body={}, media_body=MediaIoBaseUpload(io.BytesIO(raw_mail("suite doomed")), mimetype="message/rfc822")).execute()
drafts.delete(userId="me", id=doomed["id"]).execute()
step("drafts create (JSON and media), get, update, list, send, delete")

# --- history after those changes ---------------------------------------------------------------------
history = users.history().list(userId="me", startHistoryId=start_history).execute()
added = {m["message"]["id"] for h in history["history"] for m in h.get("messagesAdded", [])}
assert {sent["id"], sent_media["id"], inserted["id"], imported["id"], reply["id"]} <= added, history
starred = users.history().list(userId="me", startHistoryId=start_history, historyTypes=["labelAdded"],
                                labelId="STARRED").execute()
assert any(inserted["id"] == l["message"]["id"] for h in starred["history"] for l in h.get("labelsAdded", [])), starred
assert int(history["historyId"]) > int(start_history)
step("history.list after the changes")

# --- a 401, then the client's own refresh against the emulator's token endpoint --------------------------
refreshes_before = emulator_state()["token_requests"]["refresh_token"]
creds.token = "ya29.revoked-or-expired"  # still "valid" to google-auth: its expiry is an hour away
assert creds.valid
again = users.getProfile(userId="me").execute()
assert again["emailAddress"] == account
assert creds.token != "ya29.revoked-or-expired" and creds.token.startswith("ya29."), creds.token
assert emulator_state()["token_requests"]["refresh_token"] == refreshes_before + 1
step("401, then the client's own token refresh")

# --- a batch request ---------------------------------------------------------------------------------------
results = {}
batch = gmail.new_batch_http_request(callback=lambda rid, resp, exc: results.__setitem__(rid, exc or resp))
for m in found["messages"]:
    batch.add(messages.get(userId="me", id=m["id"], format="minimal"), request_id=m["id"])
batch.add(messages.get(userId="me", id="0123456789abcdef"), request_id="missing")
batch.execute()
assert all(results[m["id"]]["id"] == m["id"] for m in found["messages"]), results
assert isinstance(results["missing"], HttpError) and results["missing"].resp.status == 404, results
step("batch request")

print("google_client_suite: OK")

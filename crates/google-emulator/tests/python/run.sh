#!/usr/bin/env bash
# Runs Google's own Python client against the emulator (loopback only), outside `cargo test`
# (which runs the same walk in tests/emulator/python_client.rs). Creates a venv with pinned
# google-api-python-client / google-auth / google-auth-oauthlib from PyPI on first use, builds and
# starts the google-emulator binary on a free port, runs google_client_suite.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/google-emulator-pyclient"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet google-api-python-client==2.202.0 google-auth==2.63.0 google-auth-oauthlib==1.5.0
fi
cargo build --quiet -p google-emulator --bin google-emulator
out="$(mktemp)"
"$target/debug/google-emulator" --port 0 --redirect-uri http://127.0.0.1:9/callback --no-demo-mail >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
url="$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$out")"
"$venv/bin/python" "$here/google_client_suite.py" "$here/../../discovery/gmail.v1.json" "$url" \
  ferry-demo.apps.googleusercontent.com GOCSPX-ferry-demo-secret http://127.0.0.1:9/callback \
  alice@example.com bob@example.com

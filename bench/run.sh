#!/usr/bin/env bash
# ferry's benchmarks. The one command: `bench/run.sh all` (docs/benchmarks.md).
#
#   bench/run.sh all   [--duration S] [--runs N]  everything, in one sitting: the hub API, the API proxy,
#                      the flow (SQLite; PostgreSQL in one process and with 1 and 2 worker processes), the
#                      minimal forwarder, n8n and Node-RED (../shared/bench/peer-*/run.sh), the criterion
#                      micro-benchmarks; prints the report with the targets of issue 10 and every figure
#                      against the previous commit in bench/history.jsonl, appends this run there, and
#                      keeps the report in target/bench/report-<date>.md
#   bench/run.sh peers [--duration S] [--runs N]  the flow benchmark, then the two peers, and the comparison
#   bench/run.sh micro                            the criterion micro-benchmarks alone
#   bench/run.sh [hub|proxy|flows|gmail] [ARGS]   one `ferry-bench` command (none: hub, proxy, flows on SQLite)
#
# Environment (all optional):
#   FERRY_BENCH_DATABASE_URL  PostgreSQL for the flow set-ups and the store micro-benchmarks (default:
#                             FERRY_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test when
#                             pg_isready answers there; each run uses a schema of its own, dropped after)
#   PEERS_DIR                 the peer scripts (default ../shared/bench beside this repository)
#   WARMUP, WAIT_IDLE         passed to the peer scripts (defaults 5 and 120 s)
#   SAVE_MODES                n8n's execution-data modes (default "all": it stores history, as ferry does)
#   MICRO=0                   `all` without the micro-benchmarks
#   MICRO_ARGS                criterion's options for the micro-benchmarks (e.g. "--measurement-time 2")
# Nothing leaves loopback; every load run is bounded in time (wrk, installed with apt if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

mode=""
case "${1:-}" in all|peers|micro) mode=$1; shift ;; esac

duration=10 runs=3
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --duration) duration=${args[$((i + 1))]} ;;
    --duration=*) duration=${args[$i]#--duration=} ;;
    --runs) runs=${args[$((i + 1))]} ;;
    --runs=*) runs=${args[$i]#--runs=} ;;
  esac
done

log() { echo "[bench] $*" >&2; }

if ! command -v wrk >/dev/null; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
fi

database_url() {
  if [ -n "${FERRY_BENCH_DATABASE_URL:-}" ]; then echo "$FERRY_BENCH_DATABASE_URL"
  elif [ -n "${FERRY_TEST_DATABASE_URL:-}" ]; then echo "$FERRY_TEST_DATABASE_URL"
  elif command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "postgres://postgres@127.0.0.1:5432/test"
  fi
}

header() {
  echo "# ferry benchmarks — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
  echo
  echo "- commit: \`$(commit)\`; $(cargo --version); wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}')"
  echo "- node $(node --version 2>/dev/null || echo '(none)'); $(postgres --version 2>/dev/null || psql --version 2>/dev/null || echo 'PostgreSQL: (none)')"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
}

commit() {
  local c
  c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then c="$c-dirty"; fi
  echo "$c"
}

micro() { # the criterion micro-benchmarks, one crate after the other
  local pg
  pg=$(database_url)
  for spec in "ferry-sandbox script_step" "ferry-engine template" "ferry-connectors mime" \
              "google-emulator mime_parse" "ferry-store executions"; do
    set -- $spec
    log "micro-benchmark: cargo bench -p $1 --bench $2"
    FERRY_TEST_DATABASE_URL="$pg" cargo bench -q -p "$1" --bench "$2" -- --noplot ${MICRO_ARGS:-} >&2
  done
}

peers() { # $1 = output folder: nodered.jsonl, n8n.jsonl
  local dir="${PEERS_DIR:-$ROOT/../shared/bench}"
  [ -x "$dir/peer-nodered/run.sh" ] || [ -f "$dir/peer-nodered/run.sh" ] || { log "no peer scripts in $dir"; return 0; }
  log "Node-RED: $dir/peer-nodered/run.sh (DURATION=$duration)"
  DURATION=$duration CONCURRENCIES="1 32" bash "$dir/peer-nodered/run.sh" > "$1/nodered.jsonl"
  log "n8n: $dir/peer-n8n/run.sh (DURATION=$duration, SAVE_MODES=${SAVE_MODES:-all})"
  DURATION=$duration CONCURRENCIES="1 32" SAVE_MODES="${SAVE_MODES:-all}" \
    bash "$dir/peer-n8n/run.sh" > "$1/n8n.jsonl"
}

build() { cargo build --release -p ferry -p ferry-bench >&2; }
BENCH=(target/release/ferry-bench --ferry target/release/ferry)

case "$mode" in
  micro)
    micro
    ;;
  peers|all)
    build
    out="$ROOT/target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$out"
    figures="$out/figures.jsonl"
    pg=$(database_url)
    [ -n "$pg" ] || log "no PostgreSQL (FERRY_BENCH_DATABASE_URL): the PostgreSQL set-ups are skipped"
    setups=sqlite
    if [ "$mode" = all ] && [ -n "$pg" ]; then setups="sqlite,postgres,postgres+1w,postgres+2w"; fi
    {
      header
      if [ "$mode" = all ]; then
        "${BENCH[@]}" --figures "$figures" hub "$@"
        "${BENCH[@]}" --figures "$figures" proxy "$@"
      fi
      FERRY_BENCH_DATABASE_URL="$pg" "${BENCH[@]}" --figures "$figures" flows --setups "$setups" "$@"
    } | tee "$out/ferry.md"
    peers "$out"
    if [ "$mode" = all ] && [ "${MICRO:-1}" != 0 ]; then
      CRITERION_HOME="$out/criterion" micro
    fi
    record=()
    [ "$mode" = all ] && record=(--record)
    {
      cat "$out/ferry.md"
      "${BENCH[@]}" --figures "$figures" report --nodered "$out/nodered.jsonl" --n8n "$out/n8n.jsonl" \
        --criterion "$out/criterion" --history bench/history.jsonl --commit "$(commit)" \
        --date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --machine "$(nproc) cores, $(uname -r)" "${record[@]}"
    } > "$out/report.md"
    sed -n '/^## ferry against/,$p' "$out/report.md"
    log "report: $out/report.md"
    ;;
  *)
    build
    header
    "${BENCH[@]}" "$@"
    ;;
esac

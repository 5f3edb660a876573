#!/usr/bin/env bash
# Builds ferry in release mode, installs wrk if missing, and prints the benchmark figures.
# Usage: bench/run.sh [gmail [--messages N]] [--duration SECONDS] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || apt-get install -y wrk
cargo build --release -p ferry -p ferry-bench
echo "# ferry benchmarks — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(cargo --version)"
echo
target/release/ferry-bench --ferry target/release/ferry "$@"

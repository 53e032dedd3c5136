#!/usr/bin/env bash
# Wall-clock medians of `otel-lsp check` (release build) over two corpora:
#   k8s:    2,000 generated Kubernetes manifest files (bench/gen_k8s_yaml.py, seed 42)
#   python: the local Python's standard library (site-packages is skipped by the walker)
# usage: bench/check_cli.sh [RUNS]   (default 5 runs per corpus; prints the median)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=target/release/otel-lsp
corpus=target/bench-cli
if [ ! -d "$corpus/k8s" ]; then
    mkdir -p "$corpus"
    python3 bench/gen_k8s_yaml.py --out "$corpus/k8s" -n 2000 --seed 42 >/dev/null
fi
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
for target in "$corpus/k8s" "$stdlib"; do
    times=()
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        "$bin" check --quiet --exit-zero "$target" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    files=$(find "$target" -path '*/site-packages' -prune -o \( -name '*.py' -o -name '*.yaml' -o -name '*.yml' \) -print | wc -l)
    echo "$target: $files files, median ${median} ms over $runs runs"
done

#!/bin/sh
# What database/sql's pool size does to sqlite3-safe: the raw outputs in
# docs/bench/pool-ledger2*.txt and docs/bench/pool-reads*.txt, summarized by
# docs/bench/pool-summary.py into docs/bench/pool-summary.txt.
#
# Run from the repository root:
#   [PHASES="ledger2 reads sizes"] docs/bench/pool.sh [ROUNDS_LEDGER2 [ROUNDS_READS [SUFFIX [ROUNDS_SIZES]]]]
# SUFFIX names a second pass's files (pool-ledger2SUFFIX.txt,
# pool-readsSUFFIX.txt); the summary reads every pass. PHASES picks the
# sweeps to run (default: all three).
#
# Every invocation is one line "$ COMMAND" in the output file, followed by
# what it printed. The binary is built once from ./cmd/safebench; each
# command line is the equivalent go run. Rounds are interleaved: every
# round runs every pool size (and GOMAXPROCS) once, in an order rotated
# from round to round, so that the machine's other work hits them alike.
#
#   ledger2: the harness's ledger (100 goroutines, 20,000 blocks in all),
#     sqlite3-safe with -pool 0 (database/sql's default), 1, 2, 4, 16, 32,
#     each invocation beside two-pool (its ratio in the same invocation)
#     and, with -pool 0, plain sqlite3; -count 2 per invocation.
#   reads: mixed (1 writer, 4 readers) and mixed4x (4 writers, 16
#     readers), 3s each, sqlite3-safe with -pool 0, 4, 16 beside two-pool,
#     at GOMAXPROCS=2 and GOMAXPROCS=8.
#   sizes: mixed4x alone (4 writers, 16 readers) on sqlite3-safe at
#     GOMAXPROCS=2 with -pool 0, 4, 8, 12, 16, 20, 24: pool sizes around
#     its 20 goroutines (the output says how often goroutines waited for a
#     connection).
set -eu
rounds_ledger2=${1:-7}
rounds_reads=${2:-5}
suffix=${3:-}
rounds_sizes=${4:-3}
phases=${PHASES:-ledger2 reads sizes}
has() { case " $phases " in *" $1 "*) return 0 ;; esac; return 1; }
out=docs/bench
bin=$(mktemp -d)/safebench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/safebench
commit=$(git rev-parse --short HEAD)
header() {
	echo "# $1${suffix:+ (pass $suffix)}; safebench built from $commit$(git diff --quiet HEAD -- cmd/safebench || echo ' (with local changes)'); $(nproc) CPUs; $(date -u +%FT%TZ)"
}

# rotate N WORDS...: the words, starting at index N mod their count.
rotate() {
	n=$1
	shift
	k=$((n % $#))
	i=0
	first=""
	rest=""
	for w in "$@"; do
		if [ $i -lt $k ]; then first="$first $w"; else rest="$rest $w"; fi
		i=$((i + 1))
	done
	echo $rest $first
}

run() { # FILE ENV ARGS...
	file=$1
	env=$2
	shift 2
	echo "\$ ${env:+$env }go run ./cmd/safebench $*" >>"$file"
	if [ -n "$env" ]; then
		env "$env" "$bin" "$@" >>"$file" 2>&1
	else
		"$bin" "$@" >>"$file" 2>&1
	fi
	echo >>"$file"
}

if has ledger2; then
f=$out/pool-ledger2$suffix.txt
header "ledger2 pool sweep, $rounds_ledger2 rounds" >"$f"
r=0
while [ $r -lt "$rounds_ledger2" ]; do
	for p in $(rotate $r 0 1 2 4 16 32); do
		configs=two-pool,sqlite3-safe
		if [ "$p" = 0 ]; then configs=sqlite3,two-pool,sqlite3-safe; fi
		echo "# round $((r + 1)), -pool $p" >>"$f"
		run "$f" "" -workload ledger2 -configs "$configs" -count 2 -pool "$p"
	done
	r=$((r + 1))
done
fi

if has reads; then
f=$out/pool-reads$suffix.txt
header "read-heavy pool sweep, $rounds_reads rounds" >"$f"
r=0
while [ $r -lt "$rounds_reads" ]; do
	for g in $(rotate $r 2 8); do
		for p in $(rotate $r 0 4 16); do
			echo "# round $((r + 1)), GOMAXPROCS=$g, -pool $p" >>"$f"
			run "$f" "GOMAXPROCS=$g" -workload mixed,mixed4x -configs two-pool,sqlite3-safe -writers 1 -readers 4 -duration 3s -pool "$p"
		done
	done
	r=$((r + 1))
done
fi

if has sizes; then
f=$out/pool-mixed4x-sizes$suffix.txt
header "mixed4x (4 writers, 16 readers) alone on sqlite3-safe at GOMAXPROCS=2, pool sizes around its 20 goroutines, $rounds_sizes rounds" >"$f"
r=0
while [ $r -lt "$rounds_sizes" ]; do
	for p in $(rotate $r 0 4 8 12 16 20 24); do
		echo "# round $((r + 1)), GOMAXPROCS=2, -pool $p" >>"$f"
		run "$f" "GOMAXPROCS=2" -workload mixed4x -configs sqlite3-safe -writers 1 -readers 4 -duration 3s -pool "$p"
	done
	r=$((r + 1))
done
fi

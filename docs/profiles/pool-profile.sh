#!/bin/sh
# Profiles the ledger on a pool of one connection and on one of a hundred
# (BenchmarkLedgerPool), to show where the time per block goes when a
# hundred SQLite connections take turns: pprof's view (Go, with SQLite's
# calls as cgocall) and perf's (SQLite's own functions by name), written to
# docs/profiles/pool-conns=N.txt. Needs perf (Debian's linux-perf).
#
#   docs/profiles/pool-profile.sh
#
# Run from the repository root.
set -eu
out=$(pwd)/docs/profiles
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/pkg.test" .
cd "$tmp"
for n in 1 100; do
	f=$out/pool-conns=$n.txt
	./pkg.test -test.run '^$' -test.bench "LedgerPool/conns=$n\$" -test.benchtime 20000x -test.cpuprofile "$tmp/$n.prof" > "$tmp/$n.bench"
	perf record -q -o "$tmp/$n.perf" ./pkg.test -test.run '^$' -test.bench "LedgerPool/conns=$n\$" -test.benchtime 20000x > /dev/null 2>&1
	{
		echo "# BenchmarkLedgerPool/conns=$n, 20000 blocks"
		grep '^Benchmark' "$tmp/$n.bench"
		echo
		echo "# pprof: top by own time (SQLite's calls are runtime.cgocall)"
		go tool pprof -top -nodecount=25 pkg.test "$tmp/$n.prof" 2>/dev/null
		echo
		echo "# perf: top symbols by own time (SQLite's functions by name)"
		perf report -i "$tmp/$n.perf" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -40
	} > "$f"
done

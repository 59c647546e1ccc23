#!/bin/sh
# Profiles the ledger (100 goroutines, one transaction per block) and the
# commit-latency benchmark (one writer, eight readers) on sqlite3-safe and
# writes pprof's top functions, by their own time and with callees, to
# docs/profiles/NAME-{ledger,mixed}.txt.
#
#   docs/profiles/profile.sh NAME [COMMIT]
#
# With COMMIT, the driver at that commit is profiled (in a temporary git
# worktree); without, the working tree. Run from the repository root.
set -eu
name=$1
root=$(pwd)
src=$root
if [ $# -ge 2 ]; then
	src=$(mktemp -d)/src
	git worktree add -q --detach "$src" "$2"
	trap 'git -C "$root" worktree remove --force "$src"' EXIT
fi
out=$root/docs/profiles
tmp=$(mktemp -d)
cd "$src"
go test -c -o "$tmp/pkg.test" .
for w in ledger mixed; do
	case $w in
	ledger) bench='BenchmarkLedger$/driver=sqlite3-safe' n=60000x ;;
	mixed) bench='BenchmarkCommitLatency/driver=sqlite3-safe' n=40000x ;;
	esac
	(cd "$tmp" && ./pkg.test -test.run '^$' -test.bench "$bench" -test.benchtime $n -test.cpuprofile "$tmp/$w.prof" > "$tmp/$w.bench")
	{
		echo "# $bench, -benchtime $n, $(go version | cut -d' ' -f3), $(nproc) CPUs"
		grep '^Benchmark' "$tmp/$w.bench"
		echo
		echo "## by own time"
		go tool pprof -top -nodecount=25 "$tmp/pkg.test" "$tmp/$w.prof" 2>/dev/null | sed -n '/flat%/,$p'
		echo
		echo "## with callees (sqlite3-safe, database/sql, go-sqlite3, sqlmw, the runtime's scheduler)"
		go tool pprof -top -cum -nodecount=400 "$tmp/pkg.test" "$tmp/$w.prof" 2>/dev/null |
			grep -E 'flat%|sqlite3safe|database/sql|go-sqlite3|sqlmw|runtime\.(cgocall|futex|schedule|findRunnable|mcall|park_m)$' | head -40
	} > "$out/$name-$w.txt"
done
rm -rf "$tmp"

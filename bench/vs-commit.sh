#!/usr/bin/env bash
# The walker's speed against another commit, as a ratio measured in one run.
#
#   bench/vs-commit.sh <commit> [rounds] [max-states]
#
# Checks <commit> out in a temporary git worktree (node_modules symlinked from this
# tree), then runs the same checks alternately against this working tree and that
# commit, `rounds` times each (default 3; the order flips every round so neither side
# always runs on a warmer machine):
#   raw:     check nonlru --cpus 2 --pages 2 --no-symmetry --no-por --max-states N --json
#   default: check nonlru --cpus 2 --pages 2 --json   (symmetry and local-step chaining)
#   3x2:     check nonlru --cpus 3 --pages 2 --max-states N/2 --json   (issue 11's larger scope)
# and prints, per check, each round's states/s on both sides, their ratio
# (this tree / commit) and the median ratio, with the state counts (which differ when
# the commit's model differs; the ratio is then per state, as issue 9 asks).
# Beside it, the ratio of states per CPU second of the whole process (user + system,
# startup included: about a second on each side, which pulls that ratio towards 1):
# on a machine other jobs keep busy, wall-clock rates swing by 2x between runs, the
# CPU time much less. Quote the ratio and the load average printed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ]; then echo "usage: bench/vs-commit.sh <commit> [rounds] [max-states]" >&2; exit 2; fi
commit=$1
rounds=${2:-3}
max=${3:-4000000}
sha=$(git -C "$here" rev-parse --verify --quiet "$commit^{commit}") || { echo "vs-commit: no such commit: $commit" >&2; exit 2; }
tmp=$(mktemp -d)
cleanup() { git -C "$here" worktree remove --force "$tmp/wt" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
git -C "$here" worktree add --detach "$tmp/wt" "$sha" >/dev/null 2>&1
ln -s "$(readlink -f "$here/node_modules")" "$tmp/wt/node_modules"

# One check's JSON summary on stdout (exit 3, incomplete, is expected under --max-states),
# then a line with the process's CPU seconds (user + system).
run() {
  (cd "$1" && /usr/bin/time -f '%U %S' -o "$tmp/cpu" node bin/pagerace.js "${@:2}" 2>/dev/null) || [ $? -eq 3 ]
  echo
  tail -n 1 "$tmp/cpu" | awk '{print $1 + $2}'
}
field() { node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(r[process.argv[1]]))' "$1"; }

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
cratios=()

echo "vs-commit: this tree ($(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- . ':!bench' || echo '+changes')) against $(git -C "$here" rev-parse --short "$sha"); $(uptime | sed 's/.*load/load/')"
for check in raw default 3x2; do
  case $check in
    raw) args=(check nonlru --cpus 2 --pages 2 --no-symmetry --no-por --max-states "$max" --json) ;;
    default) args=(check nonlru --cpus 2 --pages 2 --json) ;;
    3x2) args=(check nonlru --cpus 3 --pages 2 --max-states "$((max / 2))" --json) ;;
  esac
  echo "$check: pagerace ${args[*]}"
  ratios=()
  for ((i = 0; i < rounds; i++)); do
    if ((i % 2 == 0)); then a=$(run "$here" "${args[@]}"); b=$(run "$tmp/wt" "${args[@]}")
    else b=$(run "$tmp/wt" "${args[@]}"); a=$(run "$here" "${args[@]}"); fi
    ja=$(echo "$a" | head -n 1); jb=$(echo "$b" | head -n 1)
    ca=$(echo "$a" | tail -n 1); cb=$(echo "$b" | tail -n 1)
    sa=$(echo "$ja" | field states); sb=$(echo "$jb" | field states)
    ra=$(echo "$ja" | field statesPerSecond); rb=$(echo "$jb" | field statesPerSecond)
    r=$(node -e "console.log(($ra / $rb).toFixed(3))")
    rc=$(node -e "console.log((($sa / $ca) / ($sb / $cb)).toFixed(3))")
    ratios+=("$r")
    cratios+=("$rc")
    echo "  round $((i + 1)): this tree $ra states/s, $sa states, $ca CPU s; commit $rb states/s, $sb states, $cb CPU s; ratio $r (per CPU second $rc)"
  done
  echo "$check: median ratio (this tree / $(git -C "$here" rev-parse --short "$sha")) $(median "${ratios[@]}") (per CPU second $(median "${cratios[@]}"))"
  ratios=()
  cratios=()
done
echo "vs-commit: done; $(uptime | sed 's/.*load/load/')"

# The results file behind every figure the README shows; `source "$(dirname "$0")/lib/results.sh"`.
#
# A benchmark script writes one file under results/benchmarks/ (committed): what was run, on what,
# each run's figures and the medians computed from them, so a README table names a file, not a
# memory. The format is long-form TSV with `#` header lines:
#
#   # command: scripts/bench-h2-scale.sh scale
#   # date: 2026-12-06T14:03:11Z
#   # git: 1a2b3c4 (dirty: no)
#   # machine: 2 cores, Intel(R) Xeon(R) ..., 24 GiB, Linux 6.1.0
#   # load average at start: 3.10 2.95 2.01
#   run	case	metric	value
#   1	h2-100k	streams_open	100000
#   ...
#   median	h2-100k	streams_open	100000
#   # load average at end: ...
#
#   results_begin NAME [NOTE]        # RESULTS_FILE=results/benchmarks/<NAME>.tsv, header written
#   results_add RUN CASE METRIC VALUE # one figure of one run (RUN: 1, 2, ...)
#   results_medians                  # a `median` line per (case, metric) over the runs
#   results_median CASE METRIC       # one of them, read back
#   results_end                      # the closing load average; prints the file's path
#
# RESULTS_DIR overrides results/benchmarks (e.g. a scratch directory for a trial run).

results_begin() {
  local name=$1 note=${2:-} top
  top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  RESULTS_FILE="${RESULTS_DIR:-$top/results/benchmarks}/$name.tsv"
  mkdir -p "$(dirname "$RESULTS_FILE")"
  local rev dirty cpu mem
  rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=no
  [ -z "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=yes
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
  mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
  {
    echo "# command: ${RESULTS_COMMAND:-scripts/$(basename "$0") ${SCRIPT_ARGS:-}}"
    echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# git: $rev (dirty: $dirty)"
    echo "# machine: $(nproc) cores, ${cpu:-unknown cpu}, ${mem:-unknown memory}, $(uname -sr)"
    echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -z "$note" ] || echo "# note: $note"
    printf 'run\tcase\tmetric\tvalue\n'
  } > "$RESULTS_FILE"
}

results_add() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RESULTS_FILE"; }

# The median of each (case, metric) over its runs: the middle value, or the mean of the two middle
# values for an even number of runs; non-numeric values are not given a median.
results_medians() {
  awk -F'\t' '
    /^#/ || $1 == "run" || $1 == "median" { next }
    $4 ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ {
      key = $2 "\t" $3
      if (!(key in n)) order[++keys] = key
      v[key, ++n[key]] = $4 + 0
    }
    END {
      for (k = 1; k <= keys; k++) {
        key = order[k]; m = n[key]
        for (i = 1; i <= m; i++) s[i] = v[key, i]
        for (i = 2; i <= m; i++) { x = s[i]; for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]; s[j + 1] = x }
        med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
        # A whole number exactly (events counted in millions, not 2.50026e+07); others to 6 digits.
        if (med == int(med) && med < 1e15 && med > -1e15) printf "median\t%s\t%.0f\n", key, med
        else printf "median\t%s\t%.6g\n", key, med
      }
    }' "$RESULTS_FILE" > "$RESULTS_FILE.medians"
  cat "$RESULTS_FILE.medians" >> "$RESULTS_FILE"
  rm -f "$RESULTS_FILE.medians"
}

# results_median CASE METRIC: the `median` line's value for CASE and METRIC (empty when none).
results_median() {
  awk -F'\t' -v c="$1" -v m="$2" '$1 == "median" && $2 == c && $3 == m { print $4 }' "$RESULTS_FILE"
}

results_end() {
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS_FILE"
  echo "results: $RESULTS_FILE" >&2
}

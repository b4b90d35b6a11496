# A short summary of an ssebench report (CSV), one line per point: streams opened of requested,
# open at the end, still queued, connections that carried requests, errors, and time to first
# event and event delivery p50/p99 in ms. Columns are found by name in the header, so a merged
# report (bench merge) reads the same as a shard's. Used by scripts/sharded.sh and by the merge Job
# in deploy/kubernetes/ (POSIX awk; Debian's default, mawk, runs it).
#
#   awk -F, -f scripts/report-summary.awk REPORT.csv
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  arm = $col["protocol"]
  if ($col["network"] != "" && $col["network"] != "loopback") arm = arm "@" $col["network"]
  key = arm " " $col["clients"] " " $col["streams_per_client"]
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  m = $col["metric"]
  if ($col["kind"] == "counter") v[key, m] = $col["value"]
  else { c[key, m] = $col["count"]; p50[key, m] = $col["p50"]; p99[key, m] = $col["p99"] }
}
function ms(key, m) {
  if (c[key, m] == "" || c[key, m] == 0) return "-"
  return sprintf("%.2f/%.2f", p50[key, m] / 1000, p99[key, m] / 1000)
}
END {
  format = "%-7s %8s %7s  %-15s %11s %6s %11s %7s %17s %15s\n"
  printf format, "arm", "clients", "streams", "opened", "open_at_end", "queued", "connections",
    "errors", "first_event", "delivery"
  for (j = 1; j <= n; j++) {
    k = order[j]; split(k, f, " ")
    printf format, f[1], f[2], f[3], v[k, "streams_opened"] "/" v[k, "streams_requested"],
      v[k, "streams_open_at_end"], v[k, "streams_queued_at_end"],
      v[k, "connections_carrying_requests"], v[k, "errors"], ms(k, "time_to_first_event"),
      ms(k, "event_delivery")
  }
  print "latencies: p50/p99 in ms"
}

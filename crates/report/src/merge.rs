//! Merging the reports of a sharded run (`bench --shard I/N` on N processes or machines) into the
//! report of the whole run: counters add, histograms add, and every percentile is recomputed from
//! the summed histogram, so the merge is exact (the percentiles of the union of the samples), which
//! a merge of percentiles could never be.
//!
//! Refused, naming the problem: reports that are not shards (or of different shard counts), a
//! shard given twice or missing, shards of different scenarios, git revisions or bench versions,
//! shards that do not cover the same rows, and a latency row without its histogram.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdrhistogram::Histogram;
use thiserror::Error;

use crate::histogram;
use crate::read::Report;
use crate::schema::{Row, RowKey, RunMeta, UtcTimestamp, Value};

/// Why reports cannot be merged.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No report given.
    #[error("no report to merge")]
    Nothing,
    /// A report is not one shard of a sharded run.
    #[error("{}: not a shard (its shard cell is {shard:?}; run with --shard I/N)", path.display())]
    NotAShard { path: PathBuf, shard: String },
    /// Shards of different shard counts.
    #[error("{} is a shard of {found}, but {} is a shard of {expected}", path.display(), first.display())]
    ShardCounts {
        path: PathBuf,
        found: u32,
        first: PathBuf,
        expected: u32,
    },
    /// A shard given twice.
    #[error("shard {shard} is given twice: {} and {}", first.display(), second.display())]
    Duplicate {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// Shards missing from the set.
    #[error("shard(s) {} of {count} missing: give every shard of the run", missing.join(", "))]
    Missing { missing: Vec<String>, count: u32 },
    /// Shards of different runs.
    #[error("{} has {column} {found:?}, but {} has {expected:?}: shards of one run only", path.display(), first.display())]
    DifferentRuns {
        column: &'static str,
        path: PathBuf,
        found: String,
        first: PathBuf,
        expected: String,
    },
    /// Shards that do not cover the same rows.
    #[error("{key} is in {} but not in {}", present.display(), absent.display())]
    DifferentRows {
        key: Box<RowKey>,
        present: PathBuf,
        absent: PathBuf,
    },
    /// A latency row without its histogram cannot be merged exactly.
    #[error("{}: {key} has no histogram, so its percentiles cannot be merged", path.display())]
    NoHistogram { key: Box<RowKey>, path: PathBuf },
    /// A row that is a counter in one shard and a latency in another.
    #[error("{key} is a counter in one shard and a latency in another")]
    KindDiffers { key: Box<RowKey> },
}

/// Merges the shards of one run; see the module documentation.
pub fn merge(reports: &[Report]) -> Result<Vec<Row>, MergeError> {
    let first = reports.first().ok_or(MergeError::Nothing)?;
    let meta_of = |r: &Report| r.rows.first().map(|row| row.meta.clone());
    let shard_of = |r: &Report| -> Result<(u32, u32, RunMeta), MergeError> {
        let meta = meta_of(r).ok_or(MergeError::Nothing)?;
        let not = || MergeError::NotAShard {
            path: r.path.clone(),
            shard: meta.shard.clone(),
        };
        let (i, n) = meta.shard.split_once('/').ok_or_else(not)?;
        let (i, n) = (
            i.parse::<u32>().map_err(|_| not())?,
            n.parse::<u32>().map_err(|_| not())?,
        );
        Ok((i, n, meta))
    };
    let (_, count, first_meta) = shard_of(first)?;
    let mut by_index: BTreeMap<u32, &Report> = BTreeMap::new();
    for r in reports {
        let (i, n, meta) = shard_of(r)?;
        if n != count {
            return Err(MergeError::ShardCounts {
                path: r.path.clone(),
                found: n,
                first: first.path.clone(),
                expected: count,
            });
        }
        for (column, found, expected) in [
            ("git_rev", &meta.git_rev, &first_meta.git_rev),
            (
                "bench_version",
                &meta.bench_version,
                &first_meta.bench_version,
            ),
        ] {
            if found != expected {
                return Err(MergeError::DifferentRuns {
                    column,
                    path: r.path.clone(),
                    found: found.clone(),
                    first: first.path.clone(),
                    expected: expected.clone(),
                });
            }
        }
        if let Some(other) = by_index.insert(i, r) {
            return Err(MergeError::Duplicate {
                shard: format!("{i}/{count}"),
                first: other.path.clone(),
                second: r.path.clone(),
            });
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    let scenarios = |r: &Report| -> Vec<String> {
        let mut s: Vec<String> = r.rows.iter().map(|row| row.key.scenario.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    let expected_scenarios = scenarios(first);
    for r in reports {
        let found = scenarios(r);
        if found != expected_scenarios {
            return Err(MergeError::DifferentRuns {
                column: "scenario",
                path: r.path.clone(),
                found: found.join(" "),
                first: first.path.clone(),
                expected: expected_scenarios.join(" "),
            });
        }
    }

    // Every shard covers the same keys, in the first shard's order.
    let keys: Vec<&RowKey> = first.rows.iter().map(|row| &row.key).collect();
    let mut hosts: Vec<String> = Vec::new();
    let mut started: Option<UtcTimestamp> = None;
    let indexed: Vec<(&Report, BTreeMap<&RowKey, &Row>)> = reports
        .iter()
        .map(|r| (r, r.rows.iter().map(|row| (&row.key, row)).collect()))
        .collect();
    for (r, rows) in &indexed {
        if let Some(key) = rows.keys().find(|k| !keys.contains(k)) {
            return Err(MergeError::DifferentRows {
                key: Box::new((*key).clone()),
                present: r.path.clone(),
                absent: first.path.clone(),
            });
        }
        let meta = meta_of(r).ok_or(MergeError::Nothing)?;
        if !hosts.contains(&meta.host) {
            hosts.push(meta.host.clone());
        }
        if started
            .as_ref()
            .is_none_or(|s| meta.started_utc.as_str() < s.as_str())
        {
            started = Some(meta.started_utc.clone());
        }
    }
    let run_id = strip_shard_suffix(&first_meta.run_id);
    let meta = RunMeta {
        run_id: format!("{run_id}-merged"),
        started_utc: started.unwrap_or(first_meta.started_utc.clone()),
        git_rev: first_meta.git_rev.clone(),
        bench_version: first_meta.bench_version.clone(),
        host: hosts.join("+"),
        shard: format!("all/{count}"),
    };
    let mut merged = Vec::with_capacity(keys.len());
    for key in keys {
        let mut rows = Vec::with_capacity(indexed.len());
        for (r, by_key) in &indexed {
            let row = by_key.get(key).ok_or_else(|| MergeError::DifferentRows {
                key: Box::new(key.clone()),
                present: first.path.clone(),
                absent: r.path.clone(),
            })?;
            rows.push((*row, &r.path));
        }
        merged.push(merge_key(key, &rows, &meta)?);
    }
    Ok(merged)
}

fn merge_key(key: &RowKey, rows: &[(&Row, &PathBuf)], meta: &RunMeta) -> Result<Row, MergeError> {
    let kind_differs = || MergeError::KindDiffers {
        key: Box::new(key.clone()),
    };
    match rows[0].0.value {
        Value::Counter(_) => {
            let mut sum = 0u64;
            for (row, _) in rows {
                match row.value {
                    Value::Counter(v) => sum = sum.saturating_add(v),
                    Value::Latency(_) => return Err(kind_differs()),
                }
            }
            Ok(Row {
                meta: meta.clone(),
                key: key.clone(),
                value: Value::Counter(sum),
                histogram: None,
            })
        }
        Value::Latency(_) => {
            let mut histograms: Vec<Histogram<u64>> = Vec::with_capacity(rows.len());
            for (row, path) in rows {
                if !matches!(row.value, Value::Latency(_)) {
                    return Err(kind_differs());
                }
                let cell = row
                    .histogram
                    .as_deref()
                    .ok_or_else(|| MergeError::NoHistogram {
                        key: Box::new(key.clone()),
                        path: (*path).clone(),
                    })?;
                // The reader has checked that every histogram cell decodes.
                let h = histogram::decode(cell).map_err(|_| MergeError::NoHistogram {
                    key: Box::new(key.clone()),
                    path: (*path).clone(),
                })?;
                histograms.push(h);
            }
            let sum = histogram::merge(&histograms).ok_or_else(kind_differs)?;
            Ok(Row {
                meta: meta.clone(),
                key: key.clone(),
                value: Value::Latency(histogram::summary(&sum)),
                histogram: Some(histogram::encode(&sum)),
            })
        }
    }
}

/// `ci-smoke-20261130T120000Z-shard1of3` -> `ci-smoke-20261130T120000Z`.
fn strip_shard_suffix(run_id: &str) -> &str {
    match run_id.rfind("-shard") {
        Some(at) => &run_id[..at],
        None => run_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ClientKind, Protocol, LOOPBACK};

    fn meta(shard: &str, host: &str) -> RunMeta {
        RunMeta {
            run_id: format!("s-20261130T120000Z-shard{}", shard.replace('/', "of")),
            started_utc: "2026-11-30T12:00:00Z".parse().expect("a timestamp"),
            git_rev: "abc".into(),
            bench_version: "0.1.0".into(),
            host: host.into(),
            shard: shard.into(),
        }
    }

    fn key(metric: &str) -> RowKey {
        RowKey {
            scenario: "s".into(),
            client: ClientKind::Emulated,
            protocol: Protocol::H2,
            network: LOOPBACK.into(),
            clients: 100,
            streams_per_client: 1,
            metric: metric.into(),
        }
    }

    fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
        for v in values {
            h.record(v).expect("in range");
        }
        h
    }

    fn shard(shard: &str, host: &str, opened: u64, samples: &Histogram<u64>) -> Report {
        let m = meta(shard, host);
        Report {
            path: format!("{shard}.csv").replace('/', "of").into(),
            rows: vec![
                Row {
                    meta: m.clone(),
                    key: key("streams_opened"),
                    value: Value::Counter(opened),
                    histogram: None,
                },
                Row {
                    meta: m,
                    key: key("fanout"),
                    value: Value::Latency(histogram::summary(samples)),
                    histogram: Some(histogram::encode(samples)),
                },
            ],
        }
    }

    #[test]
    fn shards_merge_into_the_percentiles_of_their_union() {
        let (a, b, c) = (hist(1..=500), hist(800..=20_000), hist([5, 9_000_000]));
        let union = hist((1..=500).chain(800..=20_000).chain([5, 9_000_000]));
        let reports = [
            shard("2/3", "m2", 33, &b),
            shard("1/3", "m1", 34, &a),
            shard("3/3", "m3", 33, &c),
        ];
        let rows = merge(&reports).expect("a whole set");
        assert_eq!(rows[0].value, Value::Counter(100));
        assert_eq!(rows[1].value, Value::Latency(histogram::summary(&union)));
        let h =
            histogram::decode(rows[1].histogram.as_deref().expect("a histogram")).expect("decodes");
        assert_eq!(h.len(), union.len());
        assert_eq!(rows[0].meta.shard, "all/3");
        assert_eq!(rows[0].meta.run_id, "s-20261130T120000Z-merged");
        assert_eq!(rows[0].meta.host, "m2+m1+m3");
    }

    /// The merged run started when its first shard did, whichever order the shards come in.
    #[test]
    fn the_merged_run_starts_with_its_earliest_shard() {
        let h = hist([1, 2, 3]);
        let starting = |shard_of: &str, at: &str| {
            let mut r = shard(shard_of, "m", 1, &h);
            for row in &mut r.rows {
                row.meta.started_utc = at.parse().expect("a timestamp");
            }
            r
        };
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            let all = [
                starting("1/3", "2026-11-30T12:00:05Z"),
                starting("2/3", "2026-11-30T12:00:01Z"),
                starting("3/3", "2026-11-30T12:00:09Z"),
            ];
            let given = order.map(|i| all[i].clone());
            let rows = merge(&given).expect("a whole set");
            assert_eq!(
                rows[0].meta.started_utc.as_str(),
                "2026-11-30T12:00:01Z",
                "{order:?}"
            );
        }
    }

    #[test]
    fn incomplete_or_mixed_sets_are_refused_naming_why() {
        let h = hist([1, 2, 3]);
        let e = merge(&[shard("1/3", "m", 1, &h), shard("3/3", "m", 1, &h)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard(s) 2/3 of 3 missing: give every shard of the run"
        );
        let e = merge(&[shard("1/2", "m", 1, &h), shard("1/2", "m", 1, &h)]).unwrap_err();
        assert!(e.to_string().starts_with("shard 1/2 is given twice"), "{e}");
        let e = merge(&[shard("1/2", "m", 1, &h), shard("2/3", "m", 1, &h)]).unwrap_err();
        assert!(e.to_string().contains("is a shard of 3"), "{e}");
        let mut whole = shard("1/1", "m", 1, &h);
        for row in &mut whole.rows {
            row.meta.shard = String::new();
        }
        let e = merge(&[whole]).unwrap_err();
        assert!(e.to_string().contains("not a shard"), "{e}");
        let mut other = shard("2/2", "m", 1, &h);
        for row in &mut other.rows {
            row.meta.git_rev = "def".into();
        }
        let e = merge(&[shard("1/2", "m", 1, &h), other]).unwrap_err();
        assert!(e.to_string().contains("git_rev \"def\""), "{e}");
        let mut bare = shard("2/2", "m", 1, &h);
        bare.rows[1].histogram = None;
        let e = merge(&[shard("1/2", "m", 1, &h), bare]).unwrap_err();
        assert!(e.to_string().contains("has no histogram"), "{e}");
    }
}

//! Latency histograms as reports carry them: HdrHistogram's standard compressed V2 encoding
//! (what `HdrHistogram`'s Java, C and Go libraries read as a base64 "histogram blob"), in base64,
//! via the `hdrhistogram` crate's serializer. Histograms of the same range add exactly, so reports
//! of shards merge into the percentiles of their union ([`merge`]).

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::schema::{FieldError, LatencySummary};

/// Base64 of the histogram's compressed V2 encoding.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serializing into a Vec cannot fail for a valid histogram.
    if V2DeflateSerializer::new().serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The histogram of a `histogram` cell.
pub fn decode(cell: &str) -> Result<Histogram<u64>, FieldError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cell)
        .map_err(|_| FieldError::BadHistogram)?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|_| FieldError::BadHistogram)
}

/// The report's summary of a histogram: count, mean and percentiles in microseconds; every cell
/// but `count` empty without samples.
pub fn summary(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::EMPTY;
    }
    LatencySummary {
        count: h.len(),
        mean: Some(h.mean()),
        p50: Some(h.value_at_quantile(0.50)),
        p90: Some(h.value_at_quantile(0.90)),
        p99: Some(h.value_at_quantile(0.99)),
        p999: Some(h.value_at_quantile(0.999)),
        max: Some(h.max()),
    }
}

/// The sum of histograms (their samples together); `None` for none.
pub fn merge<'a>(
    histograms: impl IntoIterator<Item = &'a Histogram<u64>>,
) -> Option<Histogram<u64>> {
    let mut histograms = histograms.into_iter();
    let mut sum = histograms.next()?.clone();
    for h in histograms {
        // Histograms of one range add; of others the sum auto-resizes when allowed.
        if sum.add(h).is_err() {
            sum.auto(true);
            let _ = sum.add(h);
        }
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
        for v in values {
            h.record(v).expect("in range");
        }
        h
    }

    #[test]
    fn round_trips_through_base64() {
        let h = histogram([1, 10, 100, 1000, 10_000, 250_000]);
        let cell = encode(&h);
        assert!(!cell.contains(','), "a CSV-safe cell");
        let back = decode(&cell).expect("decodes");
        assert_eq!(back.len(), h.len());
        assert_eq!(summary(&back), summary(&h));
        assert_eq!(decode("not base64!"), Err(FieldError::BadHistogram));
        assert_eq!(decode("aGVsbG8="), Err(FieldError::BadHistogram));
    }

    #[test]
    fn merged_shards_give_the_percentiles_of_their_union() {
        let a = histogram(1..=1000);
        let b = histogram(5000..=9000);
        let union = histogram((1..=1000).chain(5000..=9000));
        let merged = merge([&a, &b]).expect("two histograms");
        assert_eq!(summary(&merged), summary(&union));
        assert_eq!(merge([]), None::<Histogram<u64>>);
    }
}

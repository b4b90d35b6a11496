//! What a comparison prints: the text and markdown tables, and the JSON object.

use super::*;

#[test]
fn tables_show_every_line_and_the_tally() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let comparison = run(base, new);

    let text = comparison.render(TableFormat::Text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "base: 1 run (base.csv)");
    let header = lines
        .iter()
        .position(|l| l.starts_with("scenario"))
        .unwrap();
    let changed = lines.iter().find(|l| l.ends_with("CHANGED")).unwrap();
    // Columns line up: `verdict` starts where the verdicts start.
    assert_eq!(lines[header].find("verdict"), changed.find("CHANGED"));
    assert!(changed.contains("streams_opened"), "{changed}");
    assert!(changed.contains("+33.3%"), "{changed}");
    assert!(
        text.contains("\n100 lines: 85 ok, 1 CHANGED, 14 not judged\n"),
        "{text}"
    );
    // A line not judged says why, in the verdict column.
    let unjudged = lines
        .iter()
        .find(|l| l.contains("streams_requested"))
        .unwrap();
    assert!(unjudged.ends_with("not judged: no threshold"), "{unjudged}");
    let no_samples = lines
        .iter()
        .find(|l| l.contains("h1") && l.contains(" 8 ") && l.contains("post_rtt"))
        .unwrap();
    assert!(
        no_samples.ends_with("not judged: no samples"),
        "{no_samples}"
    );
    // The failing line is repeated at the end, below its own header.
    let recap: Vec<&str> = text
        .split("failing lines:\n")
        .nth(1)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(recap.len(), 4, "{recap:?}");
    assert!(recap[1].starts_with("scenario"), "{recap:?}");
    assert!(
        recap[3].contains("streams_opened") && recap[3].ends_with("CHANGED"),
        "{recap:?}"
    );
    let identical = run(sweep("a", "ceiling"), sweep("b", "ceiling")).render(TableFormat::Text);
    assert!(
        identical.ends_with("100 lines: 86 ok, 14 not judged\n"),
        "{identical}"
    );

    let markdown = comparison.render(TableFormat::Markdown);
    assert!(
        markdown.starts_with("- base: 1 run (base.csv)\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n| scenario | arm | clients |"),
        "{markdown}"
    );
    assert!(markdown.contains("|:---|:---|---:|"), "{markdown}");
    assert!(
        markdown.contains("| streams_opened | value | 6 | 8 | +2 | +33.3% | =0 | **CHANGED** |"),
        "{markdown}"
    );
}

/// `--format json`: one object whose shape is a contract.
#[test]
fn json_output_has_every_line_and_the_verdict() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let comparison = run(base, new);
    let json: serde_json::Value =
        serde_json::from_str(&comparison.render(TableFormat::Json)).expect("valid JSON");
    assert_eq!(json["verdict"], "regression");
    assert_eq!(json["floor_us"], 1000);
    assert_eq!(json["base_runs"][0], "base.csv");
    let lines = json["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), comparison.lines.len());
    let changed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["verdict"] == "CHANGED").collect();
    assert_eq!(changed.len(), 1);
    let line = changed[0];
    assert_eq!(line["metric"], "streams_opened");
    assert_eq!(line["protocol"], "h1");
    assert_eq!(line["network"], "loopback");
    assert_eq!(line["streams_per_client"], 8);
    assert_eq!(
        (line["base"].as_f64(), line["new"].as_f64()),
        (Some(6.0), Some(8.0))
    );
    assert_eq!(line["threshold"], "=0");
    assert_eq!(line["not_judged"], serde_json::Value::Null);
    let unjudged: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["verdict"] == "not-judged")
        .collect();
    assert_eq!(unjudged.len(), 14);
    assert!(unjudged
        .iter()
        .any(|l| l["metric"] == "post_rtt" && l["not_judged"] == "no samples"));
}

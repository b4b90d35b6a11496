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
    assert!(text.contains("\n100 lines: 99 ok, 1 CHANGED\n"), "{text}");
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
    assert!(identical.ends_with("100 lines: 100 ok\n"), "{identical}");

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
}

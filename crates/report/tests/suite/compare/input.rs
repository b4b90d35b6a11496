//! What is unusable input (never a regression): rows on one side only, other scenarios, reports
//! that do not read, runs of one side that differ.

use super::*;

#[test]
fn a_missing_row_makes_the_input_unusable() {
    let base = sweep("a", "ceiling");
    let mut new = sweep("b", "ceiling");
    let gone = key("ceiling", Protocol::H2, 12, "errors");
    new.retain(|row| row.key != gone);
    let comparison = run(base.clone(), new.clone());
    let err = comparison.verdict().unwrap_err();
    assert!(matches!(err, CompareError::MissingRows { .. }));
    assert_eq!(
        err.to_string(),
        "reports do not cover the same rows: 1 row only in base: \
         `ceiling emulated h2 clients=1 streams_per_client=12 errors`"
    );
    assert_eq!(comparison.count(LineVerdict::BaseOnly), 1);

    let options = CompareOptions {
        allow_missing: true,
        ..CompareOptions::default()
    };
    let allowed = compare(&[report_of("a", base)], &[report_of("b", new)], &options).unwrap();
    assert_eq!(allowed.verdict().unwrap(), Verdict::NoRegression);
}

#[test]
fn reports_of_different_scenarios_are_unusable() {
    let err = compare(
        &[report_of("a", sweep("a", "ceiling"))],
        &[report_of("b", sweep("b", "fanout"))],
        &CompareOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "base and new share no scenario: base has [\"ceiling\"], new has [\"fanout\"]"
    );
}

#[test]
fn unreadable_reports_name_file_and_line() {
    let dir = Scratch::new();
    let base = dir.path("base.csv");
    write_rows(&base, &sweep("a", "ceiling"));
    let text = std::fs::read_to_string(&base).unwrap();
    let broken = dir.write(
        "new.csv",
        &text.replacen(",h2,loopback,1,1,", ",h2,loopback,1,x,", 1),
    );
    let options = CompareOptions::default();
    let err =
        compare_files(slice::from_ref(&base), slice::from_ref(&broken), &options).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains(",h2,loopback,1,1,"))
        .unwrap()
        + 1;
    assert_eq!(
        chain(&err),
        format!(
            "{}:{line}: column `streams_per_client`: bad value \"x\": not an unsigned integer",
            broken.display()
        )
    );

    let doubled = dir.write(
        "doubled.csv",
        &format!("{text}{}\n", text.lines().nth(1).unwrap()),
    );
    let err = compare_files(&[base], slice::from_ref(&doubled), &options).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}:{}: duplicate row",
            doubled.display(),
            text.lines().count() + 1
        )),
        "{err}"
    );
}

#[test]
fn runs_of_one_side_must_cover_the_same_rows() {
    let mut short = sweep("n2", "ceiling");
    short.pop();
    let err = compare(
        &[report_of("base.csv", sweep("a", "ceiling"))],
        &[
            report_of("n1.csv", sweep("n1", "ceiling")),
            report_of("n2.csv", short),
        ],
        &CompareOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("new runs do not cover the same rows: ceiling emulated h2"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("is in n1.csv but not in n2.csv"),
        "{err}"
    );
}

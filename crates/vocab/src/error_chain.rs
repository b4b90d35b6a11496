//! How an error reads on one line: the error, then each cause in turn (`error: cause: cause`), as
//! anyhow's `{:#}` prints it. Library errors say what failed and leave the why to `source()`; this
//! is where the two meet, in messages and logs of every crate.

/// `error: cause: cause`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open report")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_in_order() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&e), "cannot open report: disk full");
    }
}

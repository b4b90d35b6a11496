//! The scenarios shipped in `scenarios/`, built into the binary so that `cargo install` users have
//! them: `bench scenarios` lists them, `bench scenarios NAME` prints one (a starting point for your
//! own file), and `bench NAME` runs one when no file of that name exists.

/// One shipped scenario.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// The name to run it by (its file's stem).
    pub name: &'static str,
    /// Its path in the repository, for messages.
    pub file: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(Shipped {
            name: $name,
            file: concat!("scenarios/", $name, ".toml"),
            text: include_str!(concat!("../../../../scenarios/", $name, ".toml")),
        }),*]
    };
}

/// Every shipped scenario, by name (a test checks that every `scenarios/*.toml` is here).
pub const SHIPPED: &[Shipped] = shipped!(
    "chat",
    "chat-1000",
    "ci-smoke",
    "h3-ceiling",
    "llm-serving",
    "llm-tabs",
    "lossy-network",
    "lossy-network-chat",
    "reconnect",
    "reconnect-reset",
    "sharded-45k",
    "six-connection-ceiling",
    "sse-vs-websocket",
    "tabs",
);

/// The shipped scenario called `name` (with or without `.toml`).
pub fn find(name: &str) -> Option<&'static Shipped> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    SHIPPED.iter().find(|s| s.name == name)
}

/// The names, comma-separated, for messages.
pub fn names() -> String {
    SHIPPED
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn every_file_in_scenarios_is_shipped_and_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the scenarios directory")
            .filter_map(|e| {
                let path = e.expect("an entry").path();
                (path.extension()? == "toml")
                    .then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        files.sort();
        let mut shipped: Vec<String> = SHIPPED.iter().map(|s| s.name.to_owned()).collect();
        shipped.sort();
        assert_eq!(files, shipped, "scenarios/*.toml and SHIPPED differ");
        for s in SHIPPED {
            let scenario = Scenario::parse(Path::new(s.file), s.text)
                .unwrap_or_else(|e| panic!("{}: {e}", s.file));
            assert_eq!(scenario.name, s.name, "{}: name and file differ", s.file);
        }
        assert!(find("ci-smoke.toml").is_some());
        assert!(find("nope").is_none());
    }
}

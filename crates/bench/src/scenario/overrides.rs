//! `--set KEY=VALUE`: change one key of a scenario from the command line, validated exactly as if
//! it were written in the file.
//!
//! The value is read as a TOML value (`100`, `2.5`, `true`, `["h1", "h2"]`, `"3s"`); anything that
//! is not one (`3s`, `h2`) is taken as a string, so durations and names need no quotes. A dotted
//! key reaches into a table (`posts.rate_per_client`, `faults.delay_events`), creating it when the
//! file has none. The scenario is then validated as a whole; an error about a key given with
//! `--set` names the flag instead of a line of the file.

use std::path::Path;
use std::str::FromStr;

use super::{Scenario, ScenarioError};

/// One `--set KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The key as given, dotted (`posts.rate_per_client`).
    pub key: String,
    /// The value as given.
    pub value_text: String,
    value: toml::Value,
}

impl Override {
    /// The flag as the user wrote it, for messages.
    pub fn flag(&self) -> String {
        format!("--set {}={}", self.key, self.value_text)
    }
}

impl FromStr for Override {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (key, value_text) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected KEY=VALUE, e.g. clients=100"))?;
        let key = key.trim();
        let valid_part = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !key.split('.').all(valid_part) {
            return Err(format!(
                "{key:?}: a key is a scenario key, dotted for a table (duration, posts.rate_per_client)"
            ));
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {value_text}"))
            .ok()
            .and_then(|mut table| table.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value_text.to_owned()));
        Ok(Override {
            key: key.to_owned(),
            value_text: value_text.to_owned(),
            value,
        })
    }
}

/// Reads `path`, applies `overrides` in order, and validates the result.
pub fn load(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text, overrides)
}

/// Applies `overrides` to scenario `text` and validates the result; see the module documentation.
pub fn parse(path: &Path, text: &str, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    if overrides.is_empty() {
        return Scenario::parse(path, text);
    }
    // Syntax errors of the file itself are reported against the file, with its lines.
    let mut table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(_) => return Scenario::parse(path, text),
    };
    for o in overrides {
        set(&mut table, o)?;
    }
    let merged = toml::to_string(&table).map_err(|e| flag_error(&overrides[0], e.to_string()))?;
    match Scenario::parse(path, &merged) {
        Ok(scenario) => Ok(scenario),
        Err(ScenarioError::Invalid {
            key, value, reason, ..
        }) if overrides.iter().any(|o| o.key == key) => {
            let o = overrides
                .iter()
                .rev()
                .find(|o| o.key == key)
                .expect("found");
            Err(flag_error(o, format!("{key} = {value}: {reason}")))
        }
        Err(merged_error) => match Scenario::parse(path, text) {
            // The file alone is wrong where no override reaches: report it with its own line.
            Err(file_error) => Err(file_error),
            // The file alone is fine: an override made it wrong (an unknown key, a wrong type).
            Ok(_) => Err(ScenarioError::Flag {
                flag: overrides
                    .iter()
                    .map(Override::flag)
                    .collect::<Vec<_>>()
                    .join(" "),
                message: strip_location(&merged_error),
            }),
        },
    }
}

fn set(table: &mut toml::Table, o: &Override) -> Result<(), ScenarioError> {
    let parts: Vec<&str> = o.key.split('.').collect();
    let (last, tables) = parts.split_last().expect("split yields one part at least");
    let mut current = table;
    for part in tables {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(flag_error(
                    o,
                    format!("{part} is not a table, so it has no key {last}"),
                ))
            }
        };
    }
    current.insert((*last).to_owned(), o.value.clone());
    Ok(())
}

fn flag_error(o: &Override, message: String) -> ScenarioError {
    ScenarioError::Flag {
        flag: o.flag(),
        message,
    }
}

/// The message of an error found in the merged text, without its (meaningless) file and line.
fn strip_location(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Syntax { message, .. } => message.clone(),
        ScenarioError::Invalid {
            key, value, reason, ..
        } => format!("{key} = {value}: {reason}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name = \"s\"\nprotocols = [\"h2\"]\nduration = \"2s\"\n";

    fn parse_with(flags: &[&str]) -> Result<Scenario, ScenarioError> {
        let overrides: Vec<Override> = flags.iter().map(|f| f.parse().unwrap()).collect();
        parse(Path::new("s.toml"), FILE, &overrides)
    }

    #[test]
    fn values_are_toml_or_strings() {
        let s = parse_with(&[
            "clients=3",
            "duration=5s",
            "protocols=[\"h1\", \"h2\"]",
            "posts.rate_per_client=2.5",
            "faults.delay_events=2ms",
        ])
        .unwrap();
        assert_eq!(s.clients, [3]);
        assert_eq!(s.duration, std::time::Duration::from_secs(5));
        assert_eq!(s.protocols.len(), 2);
        assert!((s.posts.rate_per_client - 2.5).abs() < 1e-9);
        assert_eq!(
            s.faults.delay_events,
            Some(std::time::Duration::from_millis(2))
        );
    }

    #[test]
    fn errors_name_the_flag() {
        let e = parse_with(&["clients=0"]).unwrap_err().to_string();
        assert!(e.starts_with("--set clients=0: clients = 0:"), "{e}");
        let e = parse_with(&["bogus=1"]).unwrap_err().to_string();
        assert!(e.starts_with("--set bogus=1: "), "{e}");
        assert!(e.contains("bogus"), "{e}");
        let e = parse_with(&["duration.x=1"]).unwrap_err().to_string();
        assert!(e.contains("duration is not a table"), "{e}");
        assert!("clients".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
    }

    #[test]
    fn file_errors_keep_their_line() {
        let overrides = vec!["clients=2".parse().unwrap()];
        let bad = format!("{FILE}warmup = \"fast\"\n");
        let e = parse(Path::new("s.toml"), &bad, &overrides)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:4: warmup"), "{e}");
    }
}

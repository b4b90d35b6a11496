//! Checking one raw value against its rule, and naming what is wrong: the file, the line the value
//! sits on, the key, the value as written and what is allowed. Every stage-two check goes through
//! here, so every scenario error reads the same way.

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::raw::OneOrMany;
use super::ScenarioError;

/// The file being validated: its path and text, so an error can name the line of a value.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn invalid<T: std::fmt::Debug>(
        &self,
        key: &str,
        value: &Spanned<T>,
        reason: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line: self.line(value.span().start),
            key: key.to_owned(),
            value: format!("{:?}", value.get_ref()),
            reason: reason.into(),
        }
    }

    pub(super) fn duration(
        &self,
        key: &str,
        v: &Spanned<String>,
    ) -> Result<Duration, ScenarioError> {
        humantime::parse_duration(v.get_ref().trim()).map_err(|_| {
            self.invalid(
                key,
                v,
                "expected a duration with a unit, such as \"500ms\", \"3s\" or \"1m\"",
            )
        })
    }

    pub(super) fn duration_in(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Result<Duration, ScenarioError> {
        let Some(v) = v else { return Ok(default) };
        let d = self.duration(key, v)?;
        if !range.contains(&d) {
            return Err(self.invalid(
                key,
                v,
                format!(
                    "must be from {} to {}",
                    humantime::format_duration(*range.start()),
                    humantime::format_duration(*range.end())
                ),
            ));
        }
        Ok(d)
    }

    /// An error at `offset` for a key whose value is not a single spanned value.
    pub(super) fn at(
        &self,
        offset: usize,
        key: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line: self.line(offset),
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// An optional duration that must lie in `range` when given.
    pub(super) fn optional_duration(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        range: RangeInclusive<Duration>,
    ) -> Result<Option<Duration>, ScenarioError> {
        v.map(|v| self.duration_in(key, Some(v), Duration::ZERO, range.clone()))
            .transpose()
    }

    pub(super) fn int_in(
        &self,
        key: &str,
        v: Option<&Spanned<i64>>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ScenarioError> {
        let Some(v) = v else { return Ok(default) };
        if !range.contains(v.get_ref()) {
            return Err(self.invalid(
                key,
                v,
                format!(
                    "must be an integer from {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(*v.get_ref())
    }

    pub(super) fn sweep(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany>>,
        range: RangeInclusive<i64>,
    ) -> Result<Vec<u32>, ScenarioError> {
        let Some(v) = v else { return Ok(vec![1]) };
        let values = match v.get_ref() {
            OneOrMany::One(n) => vec![*n],
            OneOrMany::Many(list) => list.clone(),
        };
        if values.is_empty() {
            return Err(self.invalid(
                key,
                v,
                "an empty sweep runs nothing: give at least one value",
            ));
        }
        let mut out: Vec<u32> = Vec::with_capacity(values.len());
        for n in values {
            if !range.contains(&n) {
                return Err(self.invalid(
                    key,
                    v,
                    format!(
                        "{n} is out of range: each value must be from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
            let n = n as u32;
            if out.contains(&n) {
                return Err(self.invalid(key, v, format!("{n} appears twice in the sweep")));
            }
            out.push(n);
        }
        Ok(out)
    }
}

//! A rule: how far, and which way, a value may move between BASE and NEW.

use std::fmt;
use std::str::FromStr;

/// How far and which way a value may move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// The value may move by at most the tolerance in `direction`.
    Limit {
        /// Which way a move counts against the threshold.
        direction: Direction,
        /// How far it may move.
        tolerance: Tolerance,
    },
    /// `>0`: must not fall to zero where the base was above zero (a proof that became vacuous,
    /// such as a loss proof owed nothing).
    StaysPositive,
    /// Shown, never fails.
    Off,
}

/// Which way a move counts against a [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `+`: higher is worse.
    Increase,
    /// `-`: lower is worse.
    Decrease,
    /// `=`: any move is a behaviour change.
    Either,
}

/// How far a value may move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// A percentage of the base value.
    Percent(f64),
    /// An amount in the metric's unit.
    Absolute(f64),
}

/// The outcome of holding one move against a [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Within the tolerance.
    Within,
    /// Beyond the tolerance in the bad direction (or in either, for `=`).
    Beyond,
    /// Beyond the tolerance in the good direction.
    Improved,
}

impl Rule {
    /// Holds the move from `base` to `new` against this rule.
    pub fn judge(&self, base: f64, new: f64) -> Judgement {
        let (direction, tolerance) = match *self {
            Rule::Limit {
                direction,
                tolerance,
            } => (direction, tolerance),
            Rule::StaysPositive if base > 0.0 && new <= 0.0 => return Judgement::Beyond,
            Rule::StaysPositive | Rule::Off => return Judgement::Within,
        };
        let allowed = match tolerance {
            Tolerance::Percent(percent) => base.abs() * percent / 100.0,
            Tolerance::Absolute(amount) => amount,
        };
        let rise = new - base;
        let (worse, better) = match direction {
            Direction::Increase => (rise, -rise),
            Direction::Decrease => (-rise, rise),
            Direction::Either => (rise.abs(), f64::NEG_INFINITY),
        };
        if worse > allowed {
            Judgement::Beyond
        } else if better > allowed {
            Judgement::Improved
        } else {
            Judgement::Within
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (direction, tolerance) = match self {
            Rule::Limit {
                direction,
                tolerance,
            } => (direction, tolerance),
            Rule::StaysPositive => return f.write_str(">0"),
            Rule::Off => return f.write_str("off"),
        };
        let sign = match direction {
            Direction::Increase => '+',
            Direction::Decrease => '-',
            Direction::Either => '=',
        };
        match tolerance {
            Tolerance::Percent(percent) => write!(f, "{sign}{percent}%"),
            Tolerance::Absolute(amount) => write!(f, "{sign}{amount}"),
        }
    }
}

impl FromStr for Rule {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, &'static str> {
        match text {
            "off" => return Ok(Rule::Off),
            ">0" => return Ok(Rule::StaysPositive),
            _ => {}
        }
        let mut chars = text.chars();
        let direction = match chars.next() {
            Some('+') => Direction::Increase,
            Some('-') => Direction::Decrease,
            Some('=') => Direction::Either,
            _ => return Err("a rule starts with +, - or = (or is `>0` or `off`)"),
        };
        let rest = chars.as_str();
        let (number, percent) = match rest.strip_suffix('%') {
            Some(number) => (number, true),
            None => (rest, false),
        };
        let amount = number
            .parse::<f64>()
            .ok()
            .filter(|amount| amount.is_finite() && *amount >= 0.0 && !number.starts_with('+'))
            .ok_or("the limit is not a non-negative number")?;
        let tolerance = if percent {
            Tolerance::Percent(amount)
        } else {
            Tolerance::Absolute(amount)
        };
        Ok(Rule::Limit {
            direction,
            tolerance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print() {
        for text in ["+25%", "-0", "+0", "+10", "=0", "=5%", "off", "+2.5%", ">0"] {
            assert_eq!(text.parse::<Rule>().unwrap().to_string(), text);
        }
        for bad in ["25%", "+", "+x", "+-5", "++5", "+inf", "-5%%", ""] {
            assert!(bad.parse::<Rule>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn judging() {
        let p = |text: &str| text.parse::<Rule>().unwrap();
        assert_eq!(p("+25%").judge(100.0, 125.0), Judgement::Within);
        assert_eq!(p("+25%").judge(100.0, 126.0), Judgement::Beyond);
        assert_eq!(p("+25%").judge(100.0, 74.0), Judgement::Improved);
        assert_eq!(p("-0").judge(6.0, 5.0), Judgement::Beyond);
        assert_eq!(p("-0").judge(6.0, 7.0), Judgement::Improved);
        assert_eq!(p("+0").judge(0.0, 1.0), Judgement::Beyond);
        assert_eq!(p("=0").judge(6.0, 8.0), Judgement::Beyond);
        assert_eq!(p("=0").judge(6.0, 4.0), Judgement::Beyond);
        assert_eq!(p("=0").judge(6.0, 6.0), Judgement::Within);
        assert_eq!(p("+10").judge(100.0, 110.0), Judgement::Within);
        assert_eq!(p("off").judge(1.0, 1e9), Judgement::Within);
        assert_eq!(p(">0").judge(120.0, 0.0), Judgement::Beyond);
        assert_eq!(p(">0").judge(120.0, 3.0), Judgement::Within);
        assert_eq!(
            p(">0").judge(0.0, 0.0),
            Judgement::Within,
            "nothing owed in base either"
        );
    }
}

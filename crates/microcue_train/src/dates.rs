//! Calendar days: parsing `YYYY-MM-DD`, day arithmetic, plan days and plan weeks.
//!
//! Dates are civil dates ([`jiff::civil::Date`]) with no time zone: the caller decides what
//! "today" is (the binary reads the local clock; tests pass a fixed date). The journal stores
//! them as ISO `YYYY-MM-DD` text, which sorts correctly as text.

pub use jiff::civil::Date;

use crate::error::{Result, TrainError};

/// Parses an ISO `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<Date> {
    text.trim()
        .parse::<Date>()
        .map_err(|source| TrainError::InvalidDate {
            text: text.to_owned(),
            source,
        })
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    // Civil days are always 24 h long, so the signed duration is an exact multiple of a day.
    to.duration_since(from).as_secs().div_euclid(86_400)
}

/// `date` moved by `days` (negative goes back). Saturates at jiff's supported range
/// (years -9999..=9999), far outside any training plan.
pub fn add_days(date: Date, days: i64) -> Date {
    date.saturating_add(jiff::Span::new().days(days.clamp(-7_304_484, 7_304_484)))
}

/// The 1-based plan day of `date` for a plan started on `start` (day 1 = the start date).
/// Zero or negative before the start.
pub fn plan_day(start: Date, date: Date) -> i64 {
    days_between(start, date) + 1
}

/// The 1-based plan week of a plan day (days 1–7 = week 1). `None` before the start.
pub fn plan_week(day: i64) -> Option<u32> {
    if day < 1 {
        None
    } else {
        u32::try_from((day - 1) / 7 + 1).ok()
    }
}

/// First and last plan day of a plan week.
pub fn week_days(week: u32) -> (i64, i64) {
    let first = (i64::from(week.max(1)) - 1) * 7 + 1;
    (first, first + 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_arithmetic_across_month_and_leap_day() {
        let start = parse_date("2024-02-27").expect("valid");
        assert_eq!(add_days(start, 3), parse_date("2024-03-01").expect("valid"));
        assert_eq!(
            days_between(start, parse_date("2024-03-01").expect("valid")),
            3
        );
        assert_eq!(
            days_between(parse_date("2024-03-01").expect("valid"), start),
            -3
        );
        assert_eq!(plan_day(start, start), 1);
        assert_eq!(plan_week(1), Some(1));
        assert_eq!(plan_week(7), Some(1));
        assert_eq!(plan_week(8), Some(2));
        assert_eq!(plan_week(0), None);
        assert_eq!(week_days(2), (8, 14));
    }

    #[test]
    fn bad_dates_are_errors() {
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("yesterday").is_err());
        assert!(parse_date("2023-02-29").is_err());
    }
}

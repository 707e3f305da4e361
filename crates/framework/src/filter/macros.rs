//! Datetime macros (`@now`, `@todayStart`, `@weekday`, ...), evaluated in UTC.

use crate::fields::format_datetime;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum MacroValue {
    Text(String),
    Number(f64),
}

pub fn eval(name: &str, now: DateTime<Utc>) -> Option<MacroValue> {
    use MacroValue::*;
    let day_start =
        |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let today = now.date_naive();
    let month_start = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(today);
    let next_month = if now.month() == 12 {
        NaiveDate::from_ymd_opt(now.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(now.year(), now.month() + 1, 1)
    }
    .unwrap_or(today);
    let year_start = NaiveDate::from_ymd_opt(now.year(), 1, 1).unwrap_or(today);
    let next_year = NaiveDate::from_ymd_opt(now.year() + 1, 1, 1).unwrap_or(today);
    let end_before = |d: NaiveDate| day_start(d) - Duration::milliseconds(1);
    let text = |t: DateTime<Utc>| Some(Text(format_datetime(t)));
    match name {
        "@now" => text(now),
        "@yesterday" => text(now - Duration::days(1)),
        "@tomorrow" => text(now + Duration::days(1)),
        "@todayStart" => text(day_start(today)),
        "@todayEnd" => text(end_before(today + Duration::days(1))),
        "@monthStart" => text(day_start(month_start)),
        "@monthEnd" => text(end_before(next_month)),
        "@yearStart" => text(day_start(year_start)),
        "@yearEnd" => text(end_before(next_year)),
        "@second" => Some(Number(now.second() as f64)),
        "@minute" => Some(Number(now.minute() as f64)),
        "@hour" => Some(Number(now.hour() as f64)),
        "@day" => Some(Number(now.day() as f64)),
        "@month" => Some(Number(now.month() as f64)),
        "@weekday" => Some(Number(now.weekday().num_days_from_sunday() as f64)),
        "@year" => Some(Number(now.year() as f64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_at_a_fixed_time() {
        let now = Utc.with_ymd_and_hms(2024, 12, 31, 13, 20, 50).unwrap();
        let t = |n| match eval(n, now) {
            Some(MacroValue::Text(s)) => s,
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(t("@now"), "2024-12-31 13:20:50.000Z");
        assert_eq!(t("@yesterday"), "2024-12-30 13:20:50.000Z");
        assert_eq!(t("@tomorrow"), "2025-01-01 13:20:50.000Z");
        assert_eq!(t("@todayStart"), "2024-12-31 00:00:00.000Z");
        assert_eq!(t("@todayEnd"), "2024-12-31 23:59:59.999Z");
        assert_eq!(t("@monthStart"), "2024-12-01 00:00:00.000Z");
        assert_eq!(t("@monthEnd"), "2024-12-31 23:59:59.999Z");
        assert_eq!(t("@yearStart"), "2024-01-01 00:00:00.000Z");
        assert_eq!(t("@yearEnd"), "2024-12-31 23:59:59.999Z");
        assert_eq!(eval("@weekday", now), Some(MacroValue::Number(2.0)));
        assert_eq!(eval("@year", now), Some(MacroValue::Number(2024.0)));
        assert_eq!(eval("@hour", now), Some(MacroValue::Number(13.0)));
        assert_eq!(eval("@nope", now), None);
    }
}

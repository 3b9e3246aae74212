//! Dates and times as spreadsheets and stores write them. Accepted:
//! - ISO 8601 with a zone: `2026-03-05T14:00:00Z`, `2026-03-05T14:00:00+01:00`,
//!   `2026-03-05 14:00:00 +0100` (Shopify's export), a trailing `UTC`;
//! - a date, optionally followed by a time (`14:00`, `14:00:30`, `14:00:30.250`, `2:00 PM`):
//!   `2026-03-05` or `2026/03/05` (year first), `05.03.2026` (always day first), and
//!   `05/03/2026` or `05-03-2026`, day first or month first as the options say. A two-digit year
//!   is in this century.
//!
//! A value without a zone is in the merchant's time zone. In the hour skipped when clocks go
//! forward it is read one hour later; in the hour repeated when they go back, the first one.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};

use crate::ParseOptions;

const ZONED_FORMATS: [&str; 5] =
    ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M%z"];

const TIME_FORMATS: [&str; 6] = ["%H:%M:%S%.f", "%H:%M", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p", "%I:%M:%S%p"];

pub(crate) fn datetime(raw: &str, options: &ParseOptions) -> Result<DateTime<Utc>, String> {
    let value = raw.trim();
    if let Ok(zoned) = DateTime::parse_from_rfc3339(value) {
        return Ok(zoned.with_timezone(&Utc));
    }
    for format in ZONED_FORMATS {
        if let Ok(zoned) = DateTime::parse_from_str(value, format) {
            return Ok(zoned.with_timezone(&Utc));
        }
    }
    let (value, in_utc) = match strip_utc_suffix(value) {
        Some(rest) => (rest, true),
        None => (value, false),
    };
    let naive = naive_datetime(value, options.day_first)?;
    if in_utc {
        return Ok(Utc.from_utc_datetime(&naive));
    }
    let zone = options.timezone;
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(naive + TimeDelta::hours(1))).earliest())
        .map(|local| local.with_timezone(&Utc))
        .ok_or_else(|| format!("{value} does not exist in {}", zone.name()))
}

fn strip_utc_suffix(value: &str) -> Option<&str> {
    if let Some(rest) = value.strip_suffix(['Z', 'z']) {
        return Some(rest.trim_end());
    }
    let split = value.len().checked_sub(3)?;
    let (rest, suffix) = (value.get(..split)?, value.get(split..)?);
    suffix.eq_ignore_ascii_case("utc").then(|| rest.trim_end())
}

fn naive_datetime(value: &str, day_first: bool) -> Result<NaiveDateTime, String> {
    let (date_part, time_part) = match value.find([' ', 'T', 't']) {
        Some(at) => (&value[..at], value[at + 1..].trim()),
        None => (value, ""),
    };
    let date = date(date_part, day_first)?;
    if time_part.is_empty() {
        return Ok(date.and_time(NaiveTime::MIN));
    }
    let time = TIME_FORMATS
        .iter()
        .find_map(|format| NaiveTime::parse_from_str(time_part, format).ok())
        .ok_or_else(|| "not a time of day; write it as 14:00 or 14:00:00".to_owned())?;
    Ok(date.and_time(time))
}

fn date(value: &str, day_first: bool) -> Result<NaiveDate, String> {
    let order = if day_first { "day first, 05/03/2026" } else { "month first, 03/05/2026" };
    let not_a_date = || format!("not a date; write it as 2026-03-05, 05.03.2026 or {order}");
    let separator = ['-', '/', '.'].into_iter().find(|separator| value.contains(*separator)).ok_or_else(not_a_date)?;
    let parts: Vec<&str> = value.split(separator).collect();
    let [first, second, third] = parts.as_slice() else { return Err(not_a_date()) };
    let number = |part: &str, max_len: usize| -> Result<u32, String> {
        if part.is_empty() || part.len() > max_len || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_date());
        }
        part.parse().map_err(|_| not_a_date())
    };
    let (year, month, day) = if first.len() == 4 {
        (number(first, 4)?, number(second, 2)?, number(third, 2)?)
    } else {
        let year = match third.len() {
            2 => 2000 + number(third, 2)?,
            4 => number(third, 4)?,
            _ => return Err(not_a_date()),
        };
        let (a, b) = (number(first, 2)?, number(second, 2)?);
        if separator == '.' || day_first { (year, b, a) } else { (year, a, b) }
    };
    let year = i32::try_from(year).map_err(|_| not_a_date())?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        if separator == '.' || first.len() == 4 {
            "no such date".to_owned()
        } else {
            format!("no such date when read {order}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(day_first: bool) -> ParseOptions {
        ParseOptions { default_country: None, timezone: chrono_tz::Europe::Berlin, day_first }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid test timestamp").with_timezone(&Utc)
    }

    #[test]
    fn accepted_forms_and_their_instants() {
        let cases = [
            ("2026-03-05T14:00:00Z", true, "2026-03-05T14:00:00Z"),
            ("2026-03-05T14:00:00+01:00", true, "2026-03-05T13:00:00Z"),
            ("2026-03-05 14:00:00 +0100", true, "2026-03-05T13:00:00Z"),
            ("2026-03-05 14:00:00 UTC", true, "2026-03-05T14:00:00Z"),
            ("2026-03-05T14:00:00.250Z", true, "2026-03-05T14:00:00.250Z"),
            ("2026-03-05", true, "2026-03-04T23:00:00Z"),
            ("2026-03-05 14:00", true, "2026-03-05T13:00:00Z"),
            ("2026-03-05T14:00", true, "2026-03-05T13:00:00Z"),
            ("2026/03/05", false, "2026-03-04T23:00:00Z"),
            ("05.03.2026", false, "2026-03-04T23:00:00Z"),
            ("05.03.2026 14:00", true, "2026-03-05T13:00:00Z"),
            ("05/03/2026", true, "2026-03-04T23:00:00Z"),
            ("05/03/2026", false, "2026-05-02T22:00:00Z"),
            ("3/5/26 2:00 PM", false, "2026-03-05T13:00:00Z"),
            ("05-03-2026", true, "2026-03-04T23:00:00Z"),
            ("2026-07-01 09:15:30", true, "2026-07-01T07:15:30Z"),
        ];
        for (raw, day_first, expected) in cases {
            assert_eq!(datetime(raw, &options(day_first)), Ok(utc(expected)), "{raw} day_first={day_first}");
        }
    }

    #[test]
    fn clock_changes_resolve_forward_and_to_the_first_hour() {
        // Berlin skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.
        assert_eq!(datetime("2026-03-29 02:30", &options(true)), Ok(utc("2026-03-29T01:30:00Z")));
        assert_eq!(datetime("2026-10-25 02:30", &options(true)), Ok(utc("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn impossible_or_unreadable_dates_say_how_to_write_them() {
        let month_first = "no such date when read month first, 03/05/2026";
        assert_eq!(datetime("25/03/2026", &options(false)), Err(month_first.to_owned()));
        assert_eq!(datetime("2026-02-30", &options(true)), Err("no such date".to_owned()));
        let unreadable = "not a date; write it as 2026-03-05, 05.03.2026 or day first, 05/03/2026";
        for raw in ["yesterday", "45356", "2026-03", "1/2/3/4", "05/03/202", "2026-03-05 noon"] {
            let expected =
                if raw.ends_with("noon") { "not a time of day; write it as 14:00 or 14:00:00" } else { unreadable };
            assert_eq!(datetime(raw, &options(true)), Err(expected.to_owned()), "{raw}");
        }
    }
}

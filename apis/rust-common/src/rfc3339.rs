//! The contract's RFC 3339 date-time, parsed by hand so every rule is explicit:
//! `YYYY-MM-DDTHH:MM:SS(.f{1,9})?(Z|±HH:MM)`, upper-case `T` and `Z`, a real calendar date in
//! years 0001-9999, hour 00-23, minute 00-59, second 00-59 (no leap second), offset hours 00-15,
//! minutes 00-59: the instants PostgreSQL's `timestamptz` accepts as text.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, Postgres};

/// An instant as PostgreSQL's `timestamptz` holds it: microseconds since 2000-01-01T00:00:00Z.
///
/// It is bound in binary form, typed `timestamptz` as the statement's cast says (the type the
/// server would infer), so the column gets exactly the instant that was validated here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamptz {
    pub micros_since_2000: i64,
}

const TIMESTAMPTZ_OID: Oid = Oid(1184);
const DAYS_FROM_0000_TO_2000: i64 = 730_485;
/// PostgreSQL refuses larger zone displacements in `timestamptz` input.
const MAX_OFFSET_HOURS: i64 = 15;

impl sqlx::Type<Postgres> for Timestamptz {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TIMESTAMPTZ_OID)
    }
}

impl sqlx::Encode<'_, Postgres> for Timestamptz {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.micros_since_2000.to_be_bytes());
        Ok(IsNull::No)
    }

    fn size_hint(&self) -> usize {
        8
    }
}

/// Parses a contract date-time; `None` when it is not one.
pub fn parse(text: &str) -> Option<Timestamptz> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;

    let mut pos = 19;
    let mut nanos: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        let count = pos - start;
        if !(1..=9).contains(&count) {
            return None;
        }
        nanos = digits(b, start, count)? * 10i64.pow(9 - count as u32);
    }

    let offset_minutes = match b.get(pos)? {
        b'Z' => {
            pos += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let hours = digits(b, pos + 1, 2)?;
            expect(b, pos + 3, b':')?;
            let minutes = digits(b, pos + 4, 2)?;
            if hours > MAX_OFFSET_HOURS || minutes > 59 {
                return None;
            }
            pos += 6;
            let total = hours * 60 + minutes;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if pos != b.len() {
        return None;
    }

    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let days = days_since_0000(year, month, day) - DAYS_FROM_0000_TO_2000;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    // Sub-microsecond digits are rounded, as PostgreSQL rounds them in its own text input.
    let micros = (nanos + 500) / 1_000;
    Some(Timestamptz {
        micros_since_2000: seconds * 1_000_000 + micros,
    })
}

fn digits(b: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = b.get(start..start + count)?;
    let mut value: i64 = 0;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(c - b'0');
    }
    Some(value)
}

fn expect(b: &[u8], index: usize, wanted: u8) -> Option<()> {
    (b.get(index) == Some(&wanted)).then_some(())
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 0000-03-01-based proleptic Gregorian counting, shifted so 0000-01-01 is day 0.
fn days_since_0000(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March so the leap day is the last day of the counted year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let days_before_year = 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400);
    let days_before_month = (153 * m + 2) / 5;
    // 0000-03-01 is day 60 of year 0000 (a leap year); shift so 0000-01-01 is 0.
    days_before_year + days_before_month + day - 1 + 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        parse(text)
            .unwrap_or_else(|| panic!("{text} should parse"))
            .micros_since_2000
    }

    #[test]
    fn the_epoch_of_postgres_is_zero() {
        assert_eq!(micros("2000-01-01T00:00:00Z"), 0);
        assert_eq!(micros("2000-01-01T01:00:00+01:00"), 0);
        assert_eq!(micros("1999-12-31T23:00:00-01:00"), 0);
    }

    #[test]
    fn known_instants() {
        // 2024-01-15T10:30:00Z is Unix 1705314600; Unix 946684800 is 2000-01-01.
        assert_eq!(
            micros("2024-01-15T10:30:00Z"),
            (1_705_314_600 - 946_684_800) * 1_000_000
        );
        assert_eq!(micros("1970-01-01T00:00:00Z"), -946_684_800 * 1_000_000);
        assert_eq!(
            micros("2024-02-29T00:00:00Z") - micros("2024-02-28T00:00:00Z"),
            86_400_000_000
        );
        assert_eq!(
            micros("2024-03-01T00:00:00Z") - micros("2024-02-29T00:00:00Z"),
            86_400_000_000
        );
        // 0001-01-01 is 730119 days before 2000-01-01 in the proleptic Gregorian calendar.
        assert_eq!(
            micros("0001-01-01T00:00:00Z"),
            -730_119 * 86_400 * 1_000_000
        );
        assert_eq!(
            micros("9999-12-31T23:59:59Z"),
            (253_402_300_799 - 946_684_800) * 1_000_000
        );
    }

    #[test]
    fn fractions_of_one_to_nine_digits() {
        assert_eq!(micros("2000-01-01T00:00:00.5Z"), 500_000);
        assert_eq!(micros("2000-01-01T00:00:00.123456Z"), 123_456);
        assert_eq!(micros("2000-01-01T00:00:00.1234564Z"), 123_456);
        assert_eq!(micros("2000-01-01T00:00:00.1234565Z"), 123_457);
        assert_eq!(micros("2000-01-01T00:00:00.999999999Z"), 1_000_000);
        assert!(parse("2000-01-01T00:00:00.Z").is_none());
        assert!(parse("2000-01-01T00:00:00.1234567890Z").is_none());
    }

    #[test]
    fn offsets_up_to_15_59() {
        assert_eq!(micros("2000-01-01T15:59:00+15:59"), 0);
        assert_eq!(micros("1999-12-31T08:01:00-15:59"), 0);
        assert_eq!(micros("2000-01-01T00:00:00-00:00"), 0);
        assert!(parse("2000-01-01T00:00:00+16:00").is_none());
        assert!(parse("2000-01-01T00:00:00-16:00").is_none());
        assert!(parse("2000-01-01T00:00:00+23:59").is_none());
        assert!(parse("2000-01-01T00:00:00+24:00").is_none());
        assert!(parse("2000-01-01T00:00:00+01:60").is_none());
        assert!(parse("2000-01-01T00:00:00+0100").is_none());
        assert!(parse("2000-01-01T00:00:00+01").is_none());
    }

    #[test]
    fn valid_forms() {
        for text in [
            "2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00.1Z",
            "2024-01-15T10:30:00.123456789+05:30",
            "2024-02-29T23:59:59-08:00",
            "2000-02-29T00:00:00Z",
            "1600-02-29T00:00:00Z",
            "0004-02-29T00:00:00Z",
            "0001-01-01T00:00:00+15:59",
            "9999-12-31T23:59:59-15:59",
            "2024-12-31T00:00:00Z",
            "2024-04-30T00:00:00Z",
        ] {
            assert!(parse(text).is_some(), "{text} should be accepted");
        }
    }

    #[test]
    fn invalid_forms() {
        for text in [
            "",
            "2024-01-15",
            "2024-01-15T10:30:00",
            "2024-01-15t10:30:00Z",
            "2024-01-15T10:30:00z",
            "2024-01-15 10:30:00Z",
            "2024-01-15T10:30Z",
            "24-01-15T10:30:00Z",
            "2024-1-15T10:30:00Z",
            "+2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00Z ",
            " 2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00ZZ",
            "2024-01-15T10:30:00+05:30:00",
            "2024-01-15T10:30:00,5Z",
            "2024-01-15T10:30:00.5.5Z",
            "２０２４-01-15T10:30:00Z",
            "2024-01-15T10:30:0aZ",
        ] {
            assert!(parse(text).is_none(), "{text:?} should be refused");
        }
    }

    #[test]
    fn calendar_and_clock_ranges() {
        for text in [
            "2024-00-10T00:00:00Z",
            "2024-13-10T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-32T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-06-31T00:00:00Z",
            "2024-09-31T00:00:00Z",
            "2024-11-31T00:00:00Z",
            "2024-01-15T24:00:00Z",
            "2024-01-15T23:60:00Z",
            "2024-01-15T23:59:60Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z",
        ] {
            assert!(parse(text).is_none(), "{text} should be refused");
        }
    }
}

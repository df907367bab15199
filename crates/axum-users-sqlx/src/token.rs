//! FastAPI Users' `accesstoken` table: what every engine shares (the token length rule, and
//! `SystemTime` ↔ column conversions, in UTC to the microsecond).
//!
//! `created_at` is SQLAlchemy's `TIMESTAMPAware(timezone=True)`: `TIMESTAMP WITH TIME ZONE` on
//! PostgreSQL (bound and read as an [`OffsetDateTime`]); a UTC wall-clock time without offset on
//! MariaDB/MySQL (bound and read as a [`PrimitiveDateTime`]); on SQLite the text SQLAlchemy
//! writes, `YYYY-MM-DD HH:MM:SS.ffffff` in UTC ([`sqlite_text`], [`parse_sqlite_text`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_users_core::StoreError;
use sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The `token` column is `VARCHAR(43)` (`secrets.token_urlsafe()`'s length).
pub(crate) const MAX_TOKEN_LEN: usize = 43;

/// 0001-01-01 00:00:00 UTC, in microseconds since the Unix epoch: the earliest time stored.
const MIN_MICROS: i128 = -62_135_596_800_000_000;
/// 9999-12-31 23:59:59.999999 UTC, in microseconds since the Unix epoch: the latest.
const MAX_MICROS: i128 = 253_402_300_799_999_999;
/// Two days, in microseconds.
const TWO_DAYS_MICROS: i128 = 2 * 86_400 * 1_000_000;

fn backend(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// Refuses a token the `VARCHAR(43)` column cannot hold (MariaDB outside strict mode would
/// cut it short, and the stored token would then never match).
pub(crate) fn check_token(token: &str) -> Result<(), StoreError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(backend(format!(
            "access token of {} bytes; the accesstoken table holds at most {MAX_TOKEN_LEN}",
            token.len()
        )));
    }
    Ok(())
}

/// Microseconds since the Unix epoch, rounded down (also before the epoch); `None` beyond
/// `i128`.
fn unix_micros(t: SystemTime) -> Option<i128> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_micros()).ok(),
        Err(e) => {
            let before = i128::try_from(e.duration().as_nanos()).ok()?;
            Some(-((before + 999) / 1000))
        }
    }
}

fn from_micros(micros: i128) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1000)
        .map_err(|e| backend(format!("time out of range: {e}")))
}

/// A time to store, in UTC, cut to the microsecond. Times outside the years 1 to 9999 (which
/// no column here can hold) are an error.
pub(crate) fn to_utc(t: SystemTime) -> Result<OffsetDateTime, StoreError> {
    match unix_micros(t) {
        Some(micros) if (MIN_MICROS..=MAX_MICROS).contains(&micros) => from_micros(micros),
        _ => Err(backend(format!(
            "token creation time {t:?} outside the years 1 to 9999"
        ))),
    }
}

/// A time to compare with, in UTC, cut to the microsecond and brought into the years 1 to
/// 9999 (every stored time is in them, so comparisons keep their meaning).
pub(crate) fn cutoff(t: SystemTime) -> Result<OffsetDateTime, StoreError> {
    let fallback = if t < UNIX_EPOCH {
        MIN_MICROS
    } else {
        MAX_MICROS
    };
    let micros = unix_micros(t)
        .unwrap_or(fallback)
        .clamp(MIN_MICROS, MAX_MICROS);
    from_micros(micros)
}

/// [`cutoff`] plus two days (at most the latest time stored): on SQLite, every row whose text
/// sorts after it was written after the cutoff, whatever its format.
pub(crate) fn cutoff_plus_two_days(t: SystemTime) -> Result<OffsetDateTime, StoreError> {
    let micros = i128::from(cutoff(t)?.unix_timestamp()) * 1_000_000;
    from_micros((micros + TWO_DAYS_MICROS).min(MAX_MICROS))
}

/// A stored time as a `SystemTime`.
pub(crate) fn from_utc(t: OffsetDateTime) -> Result<SystemTime, StoreError> {
    let secs = t.unix_timestamp();
    let nanos = Duration::from_nanos(u64::from(t.nanosecond()));
    let whole = Duration::from_secs(secs.unsigned_abs());
    let at = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    at.and_then(|at| at.checked_add(nanos))
        .ok_or_else(|| backend(format!("stored time {t} out of this system's range")))
}

/// A UTC wall-clock time without offset (MariaDB/MySQL `DATETIME(6)`).
pub(crate) fn naive_utc(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(t.date(), t.time())
}

/// The text SQLAlchemy stores on SQLite: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, no offset. Its
/// fixed width makes text order the order of time.
pub(crate) fn sqlite_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// A byte cursor over a time's text.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    /// Exactly `n` ASCII digits, as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        let mut value = 0_u32;
        for &b in head {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.rest = rest;
        Some(value)
    }

    /// One byte among `choices`.
    fn one_of(&mut self, choices: &[u8]) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        if !choices.contains(&b) {
            return None;
        }
        self.rest = rest;
        Some(b)
    }

    /// One or more digits after a decimal point, as microseconds (digits past the sixth are
    /// dropped).
    fn fraction(&mut self) -> Option<u32> {
        let len = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let mut micros = 0_u32;
        for i in 0..6 {
            let digit = self.rest.get(i).filter(|_| i < len).map_or(0, |b| b - b'0');
            micros = micros * 10 + u32::from(digit);
        }
        self.rest = &self.rest[len..];
        Some(micros)
    }
}

/// Reads a SQLite `created_at`: `YYYY-MM-DD HH:MM:SS[.f…]` (what SQLAlchemy writes, UTC), also
/// with a `T` separator and with a `Z` or `±HH:MM` suffix (what Python's `isoformat()` writes).
pub(crate) fn parse_sqlite_text(text: &str) -> Result<OffsetDateTime, StoreError> {
    parse(text).ok_or_else(|| backend(format!("unreadable accesstoken.created_at {text:?}")))
}

fn parse(text: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor {
        rest: text.as_bytes(),
    };
    let year = c.digits(4)?;
    c.one_of(b"-")?;
    let month = c.digits(2)?;
    c.one_of(b"-")?;
    let day = c.digits(2)?;
    c.one_of(b" T")?;
    let hour = c.digits(2)?;
    c.one_of(b":")?;
    let minute = c.digits(2)?;
    c.one_of(b":")?;
    let second = c.digits(2)?;
    let micros = if c.one_of(b".").is_some() {
        c.fraction()?
    } else {
        0
    };
    let offset = match c.one_of(b"Z+-") {
        None => UtcOffset::UTC,
        Some(b'Z') => UtcOffset::UTC,
        Some(sign) => {
            let hours = i8::try_from(c.digits(2)?).ok()?;
            c.one_of(b":")?;
            let minutes = i8::try_from(c.digits(2)?).ok()?;
            let (hours, minutes) = if sign == b'-' {
                (-hours, -minutes)
            } else {
                (hours, minutes)
            };
            UtcOffset::from_hms(hours, minutes, 0).ok()?
        }
    };
    if !c.rest.is_empty() {
        return None;
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        u8::try_from(month).ok()?.try_into().ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms_micro(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        micros,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// 2026-01-02 03:04:05.123456 UTC.
    fn reference() -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(1_767_323_045_123_456)
    }

    #[test]
    fn writes_sqlalchemys_sqlite_text() {
        let t = to_utc(reference() + Duration::from_nanos(789)).unwrap();
        assert_eq!(sqlite_text(t), "2026-01-02 03:04:05.123456");
        let epoch = to_utc(UNIX_EPOCH).unwrap();
        assert_eq!(sqlite_text(epoch), "1970-01-01 00:00:00.000000");
    }

    #[test]
    fn reads_sqlalchemy_and_isoformat_text() {
        for text in [
            "2026-01-02 03:04:05.123456",
            "2026-01-02T03:04:05.123456",
            "2026-01-02 03:04:05.123456+00:00",
            "2026-01-02T03:04:05.123456Z",
            "2026-01-02 05:04:05.123456+02:00",
            "2026-01-01T23:34:05.123456-03:30",
            "2026-01-02 03:04:05.123456789",
        ] {
            let t = parse_sqlite_text(text).unwrap();
            assert_eq!(from_utc(t).unwrap(), reference(), "{text}");
        }
        let whole = parse_sqlite_text("2026-01-02 03:04:05").unwrap();
        assert_eq!(sqlite_text(whole), "2026-01-02 03:04:05.000000");
        let tenth = parse_sqlite_text("2026-01-02 03:04:05.5").unwrap();
        assert_eq!(sqlite_text(tenth), "2026-01-02 03:04:05.500000");
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for text in [
            "",
            "2026-01-02",
            "2026-01-02 03:04",
            "2026-13-02 03:04:05",
            "2026-02-30 03:04:05",
            "2026-01-02 24:00:00",
            "2026-01-02 03:04:05.",
            "2026-01-02 03:04:05+0000",
            "2026-01-02 03:04:05 ",
            "2026-01-02 03:04:05.123456+00:00x",
            "1767323045",
            "２026-01-02 03:04:05",
        ] {
            assert!(parse_sqlite_text(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn round_trips_to_the_microsecond() {
        let before_epoch = UNIX_EPOCH - Duration::from_nanos(1_500);
        let t = to_utc(before_epoch).unwrap();
        assert_eq!(sqlite_text(t), "1969-12-31 23:59:59.999998");
        assert_eq!(from_utc(t).unwrap(), UNIX_EPOCH - Duration::from_micros(2));
        assert_eq!(from_utc(to_utc(reference()).unwrap()).unwrap(), reference());
    }

    #[test]
    fn out_of_range_times_are_refused_or_clamped() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert!(to_utc(far).is_err());
        assert_eq!(
            sqlite_text(cutoff(far).unwrap()),
            "9999-12-31 23:59:59.999999"
        );
        let ancient = UNIX_EPOCH - Duration::from_secs(70_000_000_000);
        assert!(to_utc(ancient).is_err());
        assert_eq!(
            sqlite_text(cutoff(ancient).unwrap()),
            "0001-01-01 00:00:00.000000"
        );
        assert_eq!(
            sqlite_text(cutoff_plus_two_days(reference()).unwrap()),
            "2026-01-04 03:04:05.000000"
        );
        assert_eq!(
            sqlite_text(cutoff_plus_two_days(far).unwrap()),
            "9999-12-31 23:59:59.999999"
        );
    }

    #[test]
    fn token_length_is_the_columns() {
        assert!(check_token(&"a".repeat(43)).is_ok());
        assert!(check_token(&"a".repeat(44)).is_err());
    }
}

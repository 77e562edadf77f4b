//! Expiry timestamps: RFC 3339 in UTC, as TUF metadata writes them.

use super::ParseError;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an `expires` value such as `2030-01-01T00:00:00Z`.
///
/// # Errors
/// [`ParseError::Invalid`] when the value is not an RFC 3339 timestamp.
pub fn parse_expiry(value: &str) -> Result<OffsetDateTime, ParseError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|e| ParseError::Invalid(format!("expires {value:?} is not RFC 3339: {e}")))
}

/// Formats a point in time the way TUF metadata writes expiries: UTC, whole seconds, `Z`.
pub fn format_expiry(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_tuf_form() {
        let s = "2031-02-03T04:05:06Z";
        assert_eq!(format_expiry(parse_expiry(s).unwrap()), s);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "2030-01-01", "tomorrow", "2030-13-01T00:00:00Z"] {
            assert!(parse_expiry(s).is_err(), "{s}");
        }
    }
}

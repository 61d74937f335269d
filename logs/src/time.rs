//! Timestamp parsing without allocation: CLF (`10/Oct/2026:13:55:36 +0100`), RFC 3339 / ISO
//! 8601 (`2026-10-10T13:55:36.123Z`, `+01:00`, no zone = UTC, space instead of `T`) and Unix
//! seconds. Every result is Unix milliseconds, UTC, with the logged zone applied.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A calendar time in UTC. Whatever writes a timestamp (sample logs, reports, the ops tables)
/// converts with this one inverse of [`days_from_civil`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    /// Civil-from-days (Howard Hinnant's algorithm) for Unix seconds.
    pub fn from_unix(unix: u64) -> UtcTime {
        let days = (unix / 86_400) as i64;
        let secs = (unix % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
        UtcTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

fn compose(
    (y, mo, d): (u32, u32, u32),
    (h, mi, s): (u32, u32, u32),
    ms: u32,
    offset_s: i64,
) -> Option<u64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset_s;
    let ms = secs.checked_mul(1000)? + i64::from(ms);
    u64::try_from(ms).ok()
}

/// `+0100`, `-05:30`, `Z`; returns seconds east of UTC.
fn zone(b: &[u8]) -> Option<i64> {
    match b {
        [] | [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits: [u8; 4] = match rest {
                [a, b, c, d] => [*a, *b, *c, *d],
                [a, b, b':', c, d] => [*a, *b, *c, *d],
                [a, b] => [*a, *b, b'0', b'0'],
                _ => return None,
            };
            let h = num(&digits[..2])?;
            let m = num(&digits[2..])?;
            let off = i64::from(h * 3600 + m * 60);
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// CLF: `dd/Mon/yyyy:HH:MM:SS[.fff] [zone]` (no zone = UTC).
pub fn parse_clf(b: &[u8]) -> Option<u64> {
    if b.len() < 20
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
    {
        return None;
    }
    let d = num(&b[0..2])?;
    let mon = &b[3..6];
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let y = num(&b[7..11])?;
    let h = num(&b[12..14])?;
    let mi = num(&b[15..17])?;
    let s = num(&b[18..20])?;
    let mut rest = &b[20..];
    let ms = frac_ms(&mut rest)?;
    let rest = trim(rest);
    compose((y, mo, d), (h, mi, s), ms, zone(rest)?)
}

/// Optional `.fff…` fraction at the start of `rest`, consumed; milliseconds.
fn frac_ms(rest: &mut &[u8]) -> Option<u32> {
    if let [b'.' | b',', tail @ ..] = *rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut ms = 0;
        for i in 0..3 {
            ms = ms * 10
                + tail
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| u32::from(c - b'0'));
        }
        *rest = &tail[n..];
        return Some(ms);
    }
    Some(0)
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// RFC 3339 / ISO 8601: `yyyy-mm-ddTHH:MM:SS[.fff][Z|±hh:mm|±hhmm]`, `T` or a space; no zone = UTC.
pub fn parse_iso(b: &[u8]) -> Option<u64> {
    let b = trim(b);
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let y = num(&b[0..4])?;
    let mo = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    let h = num(&b[11..13])?;
    let mi = num(&b[14..16])?;
    let s = num(&b[17..19])?;
    let mut rest = &b[19..];
    let ms = frac_ms(&mut rest)?;
    compose((y, mo, d), (h, mi, s), ms, zone(trim(rest))?)
}

/// Unix seconds, optionally fractional (`1793491200`, `1793491200.123`).
pub fn parse_unix_seconds(b: &[u8]) -> Option<u64> {
    let b = trim(b);
    let dot = b.iter().position(|&c| c == b'.').unwrap_or(b.len());
    let digits = b.get(..dot)?;
    if digits.is_empty() || digits.len() > 11 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = digits
        .iter()
        .fold(0u64, |n, c| n * 10 + u64::from(c - b'0'));
    let mut rest = &b[dot..];
    let ms = frac_ms(&mut rest)?;
    if !rest.is_empty() {
        return None;
    }
    Some(secs * 1000 + u64::from(ms))
}

/// Any of the three forms.
pub fn parse_any(b: &[u8]) -> Option<u64> {
    parse_iso(b)
        .or_else(|| parse_clf(trim(b)))
        .or_else(|| parse_unix_seconds(b))
}

/// Remembers the last timestamp string and its value: logs repeat the same second many times.
#[derive(Default)]
pub struct TimeCache {
    key: Vec<u8>,
    ms: u64,
}

impl TimeCache {
    pub fn get(&mut self, b: &[u8], parse: fn(&[u8]) -> Option<u64>) -> Option<u64> {
        if !self.key.is_empty() && self.key == b {
            return Some(self.ms);
        }
        let ms = parse(b)?;
        self.key.clear();
        self.key.extend_from_slice(b);
        self.ms = ms;
        Some(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_times_invert_the_parser() {
        for unix in [
            0,
            951_782_400 + 3661,
            1_764_052_537,
            1_793_491_200,
            4_102_444_799,
        ] {
            let t = UtcTime::from_unix(unix);
            let (h, mi, s) = (t.hour, t.minute, t.second);
            let back = compose((t.year as u32, t.month, t.day), (h, mi, s), 0, 0);
            assert_eq!(back, Some(unix * 1000), "{t:?}");
        }
        let leap = UtcTime::from_unix(951_782_400 + 3661);
        assert_eq!(
            (leap.year, leap.month, leap.day, leap.hour),
            (2000, 2, 29, 1)
        );
    }

    #[test]
    fn forms_and_zones() {
        // 2026-11-01T00:00:00Z = 1_793_491_200 s.
        assert_eq!(
            parse_clf(b"01/Nov/2026:00:00:00 +0000"),
            Some(1_793_491_200_000)
        );
        assert_eq!(
            parse_clf(b"01/Nov/2026:01:00:00 +0100"),
            Some(1_793_491_200_000)
        );
        assert_eq!(
            parse_clf(b"31/Oct/2026:19:00:00 -0500"),
            Some(1_793_491_200_000)
        );
        assert_eq!(
            parse_iso(b"2026-11-01T00:00:00.250Z"),
            Some(1_793_491_200_250)
        );
        assert_eq!(
            parse_iso(b"2026-11-01T02:00:00+02:00"),
            Some(1_793_491_200_000)
        );
        assert_eq!(parse_iso(b"2026-11-01 00:00:00"), Some(1_793_491_200_000));
        assert_eq!(parse_unix_seconds(b"1793491200.5"), Some(1_793_491_200_500));
        assert_eq!(parse_clf(b"01/Xyz/2026:00:00:00 +0000"), None);
        assert_eq!(parse_iso(b"2026-13-01T00:00:00Z"), None);
    }
}

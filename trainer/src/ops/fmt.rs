//! Output helpers shared by the ops commands: aligned tables and human durations, so every
//! command prints expiry and tables the same way.

/// Seconds in a day: "expiring soon" means within this window.
pub(crate) const DAY: u64 = 86_400;

/// Rows under a header, each column padded to its widest cell (the last one is not padded, so
/// lines carry no trailing spaces). Widths count characters, not bytes.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths.get(i).copied().unwrap_or(0);
                line.extend(std::iter::repeat_n(
                    ' ',
                    pad.saturating_sub(cell.chars().count()),
                ));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `key  value` lines with the keys aligned, indented by `indent` spaces.
pub(crate) fn pairs(rows: &[(String, String)], indent: usize) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let line = format!("{:indent$}{k:<width$}  {v}", "");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A duration for people: `45s`, `12m`, `3h 5m`, `6d 23h`.
pub(crate) fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..DAY => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / DAY, secs % DAY / 3600),
    }
}

/// An expiry as the filter sees it at `now`: `permanent`, `in 3h 5m`, `expired 2d 1h ago`. An
/// entry applies while `expires_at > now` (the engine's rule).
pub(crate) fn expiry(expires_at: Option<u64>, now: u64) -> String {
    match expires_at {
        None => "permanent".to_string(),
        Some(t) if t > now => format!("in {}", duration(t - now)),
        Some(t) => format!("EXPIRED {} ago", duration(now - t)),
    }
}

/// True when an entry with this expiry no longer applies at `now`.
pub(crate) fn expired(expires_at: Option<u64>, now: u64) -> bool {
    expires_at.is_some_and(|t| t <= now)
}

/// True when an entry still applies but stops within a day.
pub(crate) fn expiring_soon(expires_at: Option<u64>, now: u64) -> bool {
    expires_at.is_some_and(|t| t > now && t - now <= DAY)
}

/// Seconds left (0 once expired), `None` for a permanent entry: the JSON form of an expiry.
pub(crate) fn remaining(expires_at: Option<u64>, now: u64) -> Option<u64> {
    expires_at.map(|t| t.saturating_sub(now))
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn utc(unix: u64) -> String {
    let c = aiwaf_logs::UtcTime::from_unix(unix);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `1 entry`, `3 entries`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Bytes for people: `812 B`, `351.2 KB`, `3.4 MB` (decimal units, as file managers show).
pub(crate) fn bytes(n: u64) -> String {
    match n {
        0..1000 => format!("{n} B"),
        1000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3599), "59m");
        assert_eq!(duration(3600 + 300), "1h 5m");
        assert_eq!(duration(6 * DAY + 23 * 3600 + 59), "6d 23h");
        assert_eq!(expiry(None, 5), "permanent");
        assert_eq!(expiry(Some(65), 5), "in 1m");
        assert_eq!(expiry(Some(5), 5), "EXPIRED 0s ago");
        assert!(expired(Some(5), 5) && !expired(Some(6), 5) && !expired(None, 5));
        assert!(expiring_soon(Some(5 + DAY), 5) && !expiring_soon(Some(6 + DAY), 5));
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_767_225_600), "2026-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01 UTC");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(351_200), "351.2 KB");
        let t = table(
            &["IP", "EXPIRES", "REASON"],
            &[vec!["10.0.0.1".into(), "permanent".into(), String::new()]],
        );
        assert_eq!(t, "IP        EXPIRES    REASON\n10.0.0.1  permanent\n");
    }
}

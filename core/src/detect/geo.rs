//! `geo`: clients from countries the policy blocks (or does not allow) are refused.
//!
//! The proxy cannot open a GeoIP database per request, and a whole database is megabytes. The
//! CLI (`aiwaf bundle --geoip DB.mmdb`) compiles only what the policy needs into the bundle:
//! the address ranges whose country is refused, sorted. The filter finds a client by binary
//! search. AIWAF's semantics: a non-empty `AIWAF_GEO_ALLOW_COUNTRIES` wins (every known country
//! outside it is refused), else `AIWAF_GEO_BLOCK_COUNTRIES`; an address of unknown country is
//! allowed. The table records the lists it was compiled for, and a table compiled for other
//! lists is refused: the operator changed the policy and must recompile.

use std::net::{IpAddr, Ipv6Addr};

use crate::bundle::{Bundle, GeoTable};
use crate::detect::{DetectorId, Finding};
use crate::engine::Context;
use crate::error::Error;
use crate::net::canonical;

/// The compiled country table.
#[derive(Debug, Default)]
pub(crate) struct Geo {
    countries: Vec<String>,
    v4: Vec<(u32, u32, u16)>,
    v6: Vec<(u128, u128, u16)>,
}

/// Uppercase, sorted, deduplicated two-letter country codes, or the index of an invalid one:
/// the one spelling of a country list, for the engine and for the CLI that compiles tables.
pub fn normalize_countries(codes: &[String]) -> Result<Vec<String>, usize> {
    let mut out = Vec::with_capacity(codes.len());
    for (i, c) in codes.iter().enumerate() {
        let c = c.trim().to_ascii_uppercase();
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(i);
        }
        out.push(c);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl Geo {
    /// Checks the settings and the table. `None` when geo blocking is off or refuses nothing.
    pub(crate) fn new(bundle: &Bundle) -> Result<Option<Geo>, Error> {
        let s = &bundle.settings;
        let allow = normalize_countries(&s.geo_allow_countries).map_err(|i| {
            Error::invalid(
                format!("settings.AIWAF_GEO_ALLOW_COUNTRIES[{i}]"),
                "must be a two-letter country code",
            )
        })?;
        let block = normalize_countries(&s.geo_block_countries).map_err(|i| {
            Error::invalid(
                format!("settings.AIWAF_GEO_BLOCK_COUNTRIES[{i}]"),
                "must be a two-letter country code",
            )
        })?;
        let table = match &bundle.geoip {
            Some(t) => Some(compile(t)?),
            None => None,
        };
        if !s.geo_block_enabled || (allow.is_empty() && block.is_empty()) {
            return Ok(None);
        }
        let Some((geo, t)) = table.zip(bundle.geoip.as_ref()) else {
            return Err(Error::invalid(
                "geoip",
                "AIWAF_GEO_BLOCK_ENABLED with countries needs the country table: compile the bundle with `aiwaf bundle --geoip DB.mmdb`",
            ));
        };
        let compiled_for = (
            normalize_countries(&t.allow).unwrap_or_default(),
            normalize_countries(&t.block).unwrap_or_default(),
        );
        if compiled_for != (allow, block) {
            return Err(Error::invalid(
                "geoip",
                "the country table was compiled for other AIWAF_GEO_ALLOW_COUNTRIES / AIWAF_GEO_BLOCK_COUNTRIES: recompile the bundle with `--geoip`",
            ));
        }
        Ok(Some(geo))
    }

    /// Ranges in the table (for summaries).
    pub(crate) fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub(crate) fn inspect(&self, ctx: &Context<'_, '_>) -> Option<Finding> {
        let country = self.lookup(ctx.req.client?)?;
        Some(Finding::new(
            DetectorId::Geo,
            "geo_blocked",
            country.to_string(),
        ))
    }

    /// The refused country of `ip`, if it lies in a refused range.
    fn lookup(&self, ip: IpAddr) -> Option<&str> {
        let index = match canonical(ip) {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => find(&self.v6, u128::from(v6)),
        }?;
        self.countries.get(usize::from(index)).map(String::as_str)
    }
}

fn find<T: Ord + Copy>(ranges: &[(T, T, u16)], x: T) -> Option<u16> {
    let i = ranges.partition_point(|r| r.0 <= x);
    let r = ranges.get(i.checked_sub(1)?)?;
    (x <= r.1).then_some(r.2)
}

/// Checks a table: ranges sorted, non-overlapping, first ≤ last, country indexes in range.
fn compile(t: &GeoTable) -> Result<Geo, Error> {
    let countries = normalize_countries(&t.countries).map_err(|i| {
        Error::invalid(
            format!("geoip.countries[{i}]"),
            "must be a two-letter country code",
        )
    })?;
    if countries != t.countries {
        return Err(Error::invalid(
            "geoip.countries",
            "must be sorted, uppercase and unique",
        ));
    }
    let mut v6 = Vec::with_capacity(t.v6.len());
    for (i, (a, b, c)) in t.v6.iter().enumerate() {
        let parse = |s: &str| s.parse::<Ipv6Addr>().map(u128::from);
        match (parse(a), parse(b)) {
            (Ok(a), Ok(b)) => v6.push((a, b, *c)),
            _ => {
                return Err(Error::invalid(
                    format!("geoip.v6[{i}]"),
                    "must be [first, last, country] with IPv6 addresses",
                ))
            }
        }
    }
    check_ranges("geoip.v4", &t.v4, countries.len())?;
    check_ranges("geoip.v6", &v6, countries.len())?;
    Ok(Geo {
        countries,
        v4: t.v4.clone(),
        v6,
    })
}

fn check_ranges<T: Ord + Copy>(
    key: &str,
    ranges: &[(T, T, u16)],
    countries: usize,
) -> Result<(), Error> {
    for (i, r) in ranges.iter().enumerate() {
        let after_previous = i == 0 || ranges[i - 1].1 < r.0;
        if r.0 > r.1 || !after_previous || usize::from(r.2) >= countries {
            return Err(Error::invalid(
                format!("{key}[{i}]"),
                "ranges must be sorted, non-overlapping, first <= last, with a listed country",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(json: &str) -> Bundle {
        Bundle::from_json(json.as_bytes()).unwrap()
    }

    const TABLE: &str = r#""geoip":{"source":"test","block":["RU"],"countries":["RU"],
        "v4":[[167772160,184549375,0]],"v6":[["2001:db8::","2001:db8::ffff:ffff",0]]}"#;

    #[test]
    fn ranges_are_found_by_binary_search() {
        let geo = Geo::new(&bundle(&format!(
            r#"{{"settings":{{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["ru"]}},{TABLE}}}"#
        )))
        .unwrap()
        .unwrap();
        assert_eq!(geo.lookup("10.1.2.3".parse().unwrap()), Some("RU"));
        assert_eq!(geo.lookup("::ffff:10.0.0.0".parse().unwrap()), Some("RU"));
        assert_eq!(geo.lookup("10.255.255.255".parse().unwrap()), Some("RU"));
        assert_eq!(geo.lookup("11.0.0.0".parse().unwrap()), None);
        assert_eq!(geo.lookup("9.255.255.255".parse().unwrap()), None);
        assert_eq!(geo.lookup("2001:db8::1".parse().unwrap()), Some("RU"));
        assert_eq!(geo.lookup("2001:db9::1".parse().unwrap()), None);
        assert_eq!(geo.ranges(), 2);
    }

    #[test]
    fn off_or_empty_lists_need_no_table_but_enabled_lists_do() {
        assert!(Geo::new(&bundle("{}")).unwrap().is_none());
        assert!(
            Geo::new(&bundle(r#"{"settings":{"AIWAF_GEO_BLOCK_ENABLED":true}}"#))
                .unwrap()
                .is_none()
        );
        let missing = Geo::new(&bundle(
            r#"{"settings":{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["RU"]}}"#,
        ))
        .unwrap_err();
        assert_eq!(missing.key(), Some("geoip"));
        // Compiled for RU, but the policy now blocks CN too.
        let stale = Geo::new(&bundle(&format!(
            r#"{{"settings":{{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_BLOCK_COUNTRIES":["RU","CN"]}},{TABLE}}}"#
        )))
        .unwrap_err();
        assert_eq!(stale.key(), Some("geoip"));
        let bad_code = Geo::new(&bundle(
            r#"{"settings":{"AIWAF_GEO_BLOCK_COUNTRIES":["RUS"]}}"#,
        ))
        .unwrap_err();
        assert_eq!(
            bad_code.key(),
            Some("settings.AIWAF_GEO_BLOCK_COUNTRIES[0]")
        );
    }

    #[test]
    fn malformed_tables_are_refused_with_the_key() {
        let err = |table: &str| {
            Geo::new(&bundle(&format!(r#"{{"geoip":{table}}}"#)))
                .unwrap_err()
                .key()
                .map(str::to_string)
        };
        let base = r#""source":"t","countries":["CN","RU"]"#;
        assert_eq!(
            err(&format!(r#"{{{base},"v4":[[5,9,0],[9,12,1]]}}"#)),
            Some("geoip.v4[1]".into()),
            "overlap"
        );
        assert_eq!(
            err(&format!(r#"{{{base},"v4":[[5,9,2]]}}"#)),
            Some("geoip.v4[0]".into()),
            "country index"
        );
        assert_eq!(
            err(&format!(r#"{{{base},"v6":[["x","::1",0]]}}"#)),
            Some("geoip.v6[0]".into())
        );
        assert_eq!(
            err(r#"{"source":"t","countries":["RU","CN"]}"#),
            Some("geoip.countries".into()),
            "unsorted"
        );
    }
}

//! `--geoip DB.mmdb`: compiles the countries the policy refuses into the bundle's `geoip`
//! table.
//!
//! Any MaxMind-format country database works (MaxMind GeoLite2/GeoIP2 Country or City, DB-IP
//! and IPinfo Lite): the country is read from `country.iso_code`, else `country_code`, else a
//! string `country`. Only the refused ranges are kept (the allow list wins: every known country
//! outside it; else the block list), adjacent ranges of one country are merged, so the bundle
//! carries what the policy needs and not the database.

use std::net::IpAddr;
use std::path::Path;

use aiwaf_core::{normalize_countries, GeoTable, Settings};
use anyhow::{bail, Context as _, Result};
use maxminddb::{path, LookupResult, Reader, WithinOptions};

/// Builds the table for `settings`' geo lists from the database at `db`.
pub fn compile(db: &Path, settings: &Settings) -> Result<GeoTable> {
    let allow = normalize_countries(&settings.geo_allow_countries)
        .map_err(|i| anyhow::anyhow!("AIWAF_GEO_ALLOW_COUNTRIES[{i}] is not a country code"))?;
    let block = normalize_countries(&settings.geo_block_countries)
        .map_err(|i| anyhow::anyhow!("AIWAF_GEO_BLOCK_COUNTRIES[{i}] is not a country code"))?;
    if allow.is_empty() && block.is_empty() {
        bail!("--geoip needs AIWAF_GEO_ALLOW_COUNTRIES or AIWAF_GEO_BLOCK_COUNTRIES in the policy");
    }
    let reader = Reader::open_readfile(db)
        .with_context(|| format!("{} is not a MaxMind-format database", db.display()))?;
    let mut v4: Vec<(u32, u32, String)> = Vec::new();
    let mut v6: Vec<(u128, u128, String)> = Vec::new();
    let networks = reader
        .networks(WithinOptions::default())
        .with_context(|| format!("cannot iterate {}", db.display()))?;
    for item in networks {
        let result = item.with_context(|| format!("corrupt record in {}", db.display()))?;
        let Some(country) = country_of(&result)? else {
            continue;
        };
        let refused = if allow.is_empty() {
            block.contains(&country)
        } else {
            !allow.contains(&country)
        };
        if !refused {
            continue;
        }
        let net = result.network()?;
        match (net.ip(), net.prefix()) {
            (IpAddr::V4(ip), p) => {
                let first = u32::from(ip) & mask32(p);
                v4.push((first, first | !mask32(p), country));
            }
            (IpAddr::V6(ip), p) => {
                let first = u128::from(ip) & mask128(p);
                v6.push((first, first | !mask128(p), country));
            }
        }
    }
    let mut countries: Vec<String> = v4
        .iter()
        .map(|r| r.2.clone())
        .chain(v6.iter().map(|r| r.2.clone()))
        .collect();
    countries.sort();
    countries.dedup();
    let index = |c: &String| countries.binary_search(c).unwrap_or(0) as u16;
    let v4 = merge(v4)
        .into_iter()
        .map(|(a, b, c)| (a, b, index(&c)))
        .collect();
    let v6 = merge(v6)
        .into_iter()
        .map(|(a, b, c)| {
            let addr = |x: u128| std::net::Ipv6Addr::from(x).to_string();
            (addr(a), addr(b), index(&c))
        })
        .collect();
    let meta = reader.metadata();
    Ok(GeoTable {
        source: format!("{} (built {})", meta.database_type, meta.build_epoch),
        allow,
        block,
        countries,
        v4,
        v6,
    })
}

/// The record's two-letter country, uppercase, if it has one.
fn country_of(result: &LookupResult<'_, Vec<u8>>) -> Result<Option<String>> {
    let paths: [&[maxminddb::PathElement<'_>]; 3] = [
        &path!["country", "iso_code"],
        &path!["country_code"],
        &path!["country"],
    ];
    for p in paths {
        if let Ok(Some(code)) = result.decode_path::<String>(p) {
            let code = code.trim().to_ascii_uppercase();
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Ok(Some(code));
            }
        }
    }
    Ok(None)
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

/// Sorts ranges and merges adjacent or overlapping ones of the same country.
fn merge<T: Ord + Copy + num_like::Succ>(mut ranges: Vec<(T, T, String)>) -> Vec<(T, T, String)> {
    ranges.sort();
    let mut out: Vec<(T, T, String)> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if last.2 == r.2 && last.1.succ() >= r.0 => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    out
}

mod num_like {
    //! The next address, saturating, for merging adjacent ranges of either family.
    pub trait Succ {
        fn succ(self) -> Self;
    }
    impl Succ for u32 {
        fn succ(self) -> u32 {
            self.saturating_add(1)
        }
    }
    impl Succ for u128 {
        fn succ(self) -> u128 {
            self.saturating_add(1)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use maxminddb_writer::metadata::IpVersion;
    use maxminddb_writer::paths::IpAddrWithMask;

    /// A tiny country database written by the test itself (never downloaded): networks with
    /// a `country.iso_code` record, as GeoLite2-Country has.
    pub(crate) fn tiny_db(dir: &TempDir, networks: &[(&str, &str)]) -> std::path::PathBuf {
        let mut db = maxminddb_writer::Database::default();
        db.metadata.ip_version = IpVersion::V6;
        db.metadata.database_type = "aiwaf-test-Country".into();
        db.metadata.binary_format_major_version = 2;
        db.metadata.languages = vec!["en".into()];
        for (net, cc) in networks {
            #[derive(serde::Serialize)]
            struct Country<'a> {
                iso_code: &'a str,
            }
            #[derive(serde::Serialize)]
            struct Record<'a> {
                country: Country<'a>,
            }
            let data = db
                .insert_value(Record {
                    country: Country { iso_code: cc },
                })
                .unwrap();
            let (addr, mask) = net.split_once('/').unwrap();
            let addr: IpAddr = addr.parse().unwrap();
            let mut mask: u8 = mask.parse().unwrap();
            // IPv4 networks live under ::/96 in an IPv6 tree.
            let addr = match addr {
                IpAddr::V4(v4) => {
                    mask += 96;
                    IpAddr::V6(v4.to_ipv6_compatible())
                }
                v6 => v6,
            };
            db.insert_node(IpAddrWithMask::new(addr, mask), data);
        }
        let mut bytes = Vec::new();
        db.write_to(&mut bytes).unwrap();
        dir.write("tiny.mmdb", &bytes)
    }

    fn settings(json: &str) -> Settings {
        aiwaf_core::Bundle::from_json(format!(r#"{{"settings":{json}}}"#).as_bytes())
            .unwrap()
            .settings
    }

    const NETS: &[(&str, &str)] = &[
        ("10.0.0.0/9", "RU"),
        ("10.128.0.0/9", "RU"),
        ("11.0.0.0/8", "US"),
        ("12.0.0.0/8", "CN"),
        ("2001:db8::/32", "RU"),
    ];

    #[test]
    fn block_list_keeps_only_the_refused_ranges_merged() {
        let dir = TempDir::new("geo");
        let db = tiny_db(&dir, NETS);
        let t = compile(&db, &settings(r#"{"AIWAF_GEO_BLOCK_COUNTRIES":["ru"]}"#)).unwrap();
        assert_eq!(t.countries, ["RU"]);
        // 10.0.0.0/9 and 10.128.0.0/9 merge into 10.0.0.0 – 10.255.255.255.
        assert_eq!(t.v4, [(0x0A00_0000, 0x0AFF_FFFF, 0)]);
        assert_eq!(
            t.v6,
            [(
                "2001:db8::".to_string(),
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".to_string(),
                0
            )]
        );
        assert_eq!(t.block, ["RU"]);
        assert!(t.source.contains("aiwaf-test-Country"));
    }

    #[test]
    fn allow_list_refuses_every_other_known_country() {
        let dir = TempDir::new("geo-allow");
        let db = tiny_db(&dir, NETS);
        let t = compile(
            &db,
            &settings(r#"{"AIWAF_GEO_ALLOW_COUNTRIES":["US"],"AIWAF_GEO_BLOCK_COUNTRIES":["US"]}"#),
        )
        .unwrap();
        assert_eq!(t.countries, ["CN", "RU"]);
        assert_eq!(t.v4.len(), 2, "{:?}", t.v4);
        // The engine accepts it and finds the countries.
        let mut bundle = aiwaf_core::Bundle::from_json(
            br#"{"settings":{"AIWAF_GEO_BLOCK_ENABLED":true,"AIWAF_GEO_ALLOW_COUNTRIES":["US"],"AIWAF_GEO_BLOCK_COUNTRIES":["US"]}}"#,
        )
        .unwrap();
        bundle.geoip = Some(t);
        aiwaf_core::Engine::new(&bundle, 0).unwrap();
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = TempDir::new("geo-bad");
        let db = tiny_db(&dir, NETS);
        assert!(compile(&db, &settings("{}")).is_err(), "no lists");
        let not_db = dir.write("junk.mmdb", b"not a database");
        let e = compile(
            &not_db,
            &settings(r#"{"AIWAF_GEO_BLOCK_COUNTRIES":["RU"]}"#),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("MaxMind"), "{e:#}");
    }
}

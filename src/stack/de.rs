//! Values as people write them, read with messages in the stack's own words.
//!
//! serde's own messages speak Rust (`expected u16`, `data did not match any
//! variant of untagged enum`); the fields of a stack read through these
//! functions instead, which say what is allowed (`a port is 1 to 65535`).
//! Each limit is declared once, as a [`Range`], and serves the loader, the
//! JSON Schema and the message for a number too large to read at all.
//! Habits from elsewhere are accepted where they are unambiguous: `yes` and
//! `no` for true and false (Ansible, YAML 1.1).

use schemars::{json_schema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;

/// What a whole number in a stack may be.
#[derive(Debug)]
pub struct Range {
    /// What the number is, with its article: `a port`.
    pub what: &'static str,
    pub min: u64,
    pub max: u64,
    /// Said after the range, e.g. ` (the highest holds the virtual IP)`.
    pub note: &'static str,
}

impl Range {
    /// `a port is 1 to 65535`.
    pub fn allowed(&self) -> String {
        format!("{} is {} to {}{}", self.what, self.min, self.max, self.note)
    }

    pub fn contains(&self, n: u64) -> bool {
        (self.min..=self.max).contains(&n)
    }

    pub fn schema(&self) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": self.min,
            "maximum": self.max,
        })
    }

    /// The message for a value that is not such a number.
    fn refuse(&self, v: &Value) -> String {
        match v {
            Value::Number(n) if n.is_f64() => {
                format!("`{n}` is not a whole number: {}", self.allowed())
            }
            Value::Number(n) => format!("`{n}` is out of range: {}", self.allowed()),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => format!(
                "`\"{s}\"` is quoted text: {}, written without quotes",
                self.allowed()
            ),
            other => format!("{} is not a number: {}", shown(other), self.allowed()),
        }
    }
}

pub const PORT: Range = Range {
    what: "a port",
    min: 1,
    max: 65535,
    note: "",
};
pub const VRRP_PRIORITY: Range = Range {
    what: "a VRRP priority",
    min: 1,
    max: 255,
    note: " (the highest holds the virtual IP)",
};
pub const MX_PRIORITY: Range = Range {
    what: "an MX priority",
    min: 0,
    max: 65535,
    note: " (the lowest is preferred)",
};
pub const WORKERS: Range = Range {
    what: "a number of workers",
    min: 1,
    max: 255,
    note: "",
};
pub const SERVER_ID: Range = Range {
    what: "a MariaDB server id",
    min: 1,
    max: 4_294_967_295,
    note: "",
};
pub const TTL: Range = Range {
    what: "a TTL",
    min: 0,
    max: 2_147_483_647,
    note: " seconds",
};
pub const MAXCONN: Range = Range {
    what: "a connection limit",
    min: 1,
    max: 2_147_483_647,
    note: "",
};
/// A server's address written as its host number in the subnet (the subnet
/// bounds it further, in validation).
pub const HOST_NUMBER: Range = Range {
    what: "a host number",
    min: 1,
    max: 16_777_214,
    note: " within the network's subnet",
};

/// The limit of the number at `path`, for a number too large to read (the
/// YAML reader refuses integers past 64 bits before any field sees them).
pub fn range_at(path: &str) -> Option<&'static Range> {
    let key = path.rsplit(['.', '[']).next().unwrap_or(path);
    Some(match key {
        "port" | "https-port" | "stats-port" => &PORT,
        "priority" if path.contains(".keepalived.") => &VRRP_PRIORITY,
        "priority" => &MX_PRIORITY,
        "workers" => &WORKERS,
        "server-id" => &SERVER_ID,
        "ttl" => &TTL,
        "maxconn" => &MAXCONN,
        _ if path.starts_with("servers.") && path.contains(".networks.") => &HOST_NUMBER,
        _ => return None,
    })
}

/// A value as the message shows it: `abc`, `[...]`, `{...}`, `~`.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Null => "an empty value".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("`{s}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged `{}`", t.tag),
    }
}

fn whole(v: &Value, r: &Range) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|n| r.contains(*n))
            .ok_or_else(|| r.refuse(v)),
        other => Err(r.refuse(other)),
    }
}

fn number<'de, D: Deserializer<'de>>(d: D, r: &Range) -> Result<u64, D::Error> {
    whole(&Value::deserialize(d)?, r).map_err(D::Error::custom)
}

fn opt_number<'de, D: Deserializer<'de>>(d: D, r: &Range) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => whole(&v, r).map(Some).map_err(D::Error::custom),
    }
}

/// A deserializer and a schema for a field limited by a [`Range`].
macro_rules! ranged {
    ($de:ident, $schema:ident, $ty:ty, $range:expr) => {
        #[doc = concat!("Reads a `", stringify!($ty), "` limited by [`", stringify!($range), "`].")]
        pub fn $de<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            // The range fits the type: the cast cannot truncate.
            number(d, &$range).map(|n| n as $ty)
        }

        #[doc = concat!("The schema of [`", stringify!($range), "`].")]
        pub fn $schema(_: &mut SchemaGenerator) -> Schema {
            $range.schema()
        }
    };
    (opt $de:ident, $schema:ident, $ty:ty, $range:expr) => {
        #[doc = concat!("Reads an optional `", stringify!($ty), "` limited by [`", stringify!($range), "`].")]
        pub fn $de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            opt_number(d, &$range).map(|n| n.map(|n| n as $ty))
        }

        #[doc = concat!("The schema of [`", stringify!($range), "`], or nothing.")]
        pub fn $schema(_: &mut SchemaGenerator) -> Schema {
            let mut s = $range.schema();
            s.insert("type".into(), serde_json::json!(["integer", "null"]));
            s
        }
    };
}

ranged!(port, port_schema, u16, PORT);
ranged!(workers, workers_schema, u8, WORKERS);
ranged!(ttl, ttl_schema, u32, TTL);
ranged!(maxconn, maxconn_schema, u32, MAXCONN);
ranged!(opt vrrp_priority, vrrp_priority_schema, u8, VRRP_PRIORITY);
ranged!(opt mx_priority, mx_priority_schema, u16, MX_PRIORITY);
ranged!(opt server_id, server_id_schema, u32, SERVER_ID);

/// Words read as true and false besides YAML's own: Ansible's and YAML
/// 1.1's `yes`/`no` and `on`/`off`.
const TRUE_WORDS: [&str; 6] = ["yes", "Yes", "YES", "on", "On", "ON"];
const FALSE_WORDS: [&str; 6] = ["no", "No", "NO", "off", "Off", "OFF"];

/// Reads `true`/`false`, or `yes`/`no`, `on`/`off`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) if TRUE_WORDS.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE_WORDS.contains(&s.as_str()) => Ok(false),
        other => Err(D::Error::custom(format!(
            "{} is not true or false (`yes` and `no` are read as true and false too)",
            shown(&other)
        ))),
    }
}

pub fn flag_schema(_: &mut SchemaGenerator) -> Schema {
    let words: Vec<&str> = TRUE_WORDS.iter().chain(&FALSE_WORDS).copied().collect();
    json_schema!({
        "anyOf": [
            { "type": "boolean" },
            { "description": "`yes`/`no`, `on`/`off` (YAML 1.1, Ansible)", "enum": words }
        ]
    })
}

/// Longest VRRP v3 advert interval keepalived takes: 4095 centiseconds
/// (VRRP v2's 255 s do not fit v3's 12 bits).
pub const MAX_ADVERT: f64 = 40.95;

/// The VRRP advert interval: seconds, in hundredths.
pub fn advert_interval<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    const ALLOWED: &str = "an advert interval is 0.01 to 40.95 seconds (VRRP v3)";
    let v = Value::deserialize(d)?;
    match v.as_f64() {
        Some(x) if (0.01..=MAX_ADVERT).contains(&x) => Ok(x),
        Some(_) => Err(D::Error::custom(format!(
            "{} is out of range: {ALLOWED}",
            shown(&v)
        ))),
        None => Err(D::Error::custom(format!(
            "{} is not a number: {ALLOWED}",
            shown(&v)
        ))),
    }
}

pub fn advert_interval_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number", "minimum": 0.01, "maximum": MAX_ADVERT })
}

/// The message serde gives for a wrong shape, in the stack's words: serde
/// names Rust types (`u16`, `a map`, `struct Options`), a stack has numbers,
/// mappings and lists. Messages of our own pass through unchanged.
pub fn humanize(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, tail) = rest.split_once('`').unwrap_or((rest, ""));
        return match tail.strip_prefix(", expected one of ") {
            Some(keys) => format!("unknown key `{key}`; the keys here are {keys}"),
            None => match tail.strip_prefix(", expected ") {
                Some(only) => format!("unknown key `{key}`; the only key here is {only}"),
                None => format!("unknown key `{key}`: nothing may be written here"),
            },
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return format!("`{key}` is missing");
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (word, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed = tail.trim_start_matches(", expected ");
        return format!("`{word}` is not allowed here: write {allowed}");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "{} is written here, where {} is expected",
                found_words(found),
                expected_words(expected)
            );
        }
    }
    message.to_string()
}

fn found_words(found: &str) -> String {
    if let Some(s) = found.strip_prefix("string ") {
        return format!("`{}`", s.trim_matches('"'));
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(n) = found.strip_prefix(prefix) {
            return n.to_string();
        }
    }
    match found {
        "map" => "a mapping".into(),
        "sequence" => "a list".into(),
        "unit value" | "unit" => "an empty value".into(),
        other => other.into(),
    }
}

fn expected_words(expected: &str) -> &str {
    match expected {
        "a string" => "text",
        "a map" => "a mapping (`key: value`)",
        "a sequence" => "a list",
        "a boolean" => "true or false",
        e if e.starts_with("struct ") || e.contains("map") => "a mapping (`key: value`)",
        e if e.contains("enum") || e.contains("variant") => "one of the allowed words",
        e if e.contains("sequence") || e.contains("tuple") => "a list",
        e if e.starts_with('u') || e.starts_with('i') => "a whole number",
        e if e.starts_with('f') => "a number",
        // A message of ours, written for people.
        e if e.contains('`') => e,
        _ => "another kind of value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str, f: fn(Value) -> Result<u64, serde_yaml::Error>) -> Result<u64, String> {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        f(v).map_err(|e| e.to_string())
    }

    fn as_port(v: Value) -> Result<u64, serde_yaml::Error> {
        port(v).map(u64::from)
    }

    fn as_priority(v: Value) -> Result<u64, serde_yaml::Error> {
        vrrp_priority(v).map(|p| p.map_or(0, u64::from))
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(read("80", as_port), Ok(80));
        assert_eq!(read("65535", as_port), Ok(65535));
        assert_eq!(
            read("0", as_port),
            Err("`0` is out of range: a port is 1 to 65535".into())
        );
        assert_eq!(
            read("70000", as_port),
            Err("`70000` is out of range: a port is 1 to 65535".into())
        );
        assert_eq!(
            read("-1", as_port),
            Err("`-1` is out of range: a port is 1 to 65535".into())
        );
        assert_eq!(
            read("80.5", as_port),
            Err("`80.5` is not a whole number: a port is 1 to 65535".into())
        );
        assert_eq!(
            read("abc", as_port),
            Err("`abc` is not a number: a port is 1 to 65535".into())
        );
        assert_eq!(
            read("'8080'", as_port),
            Err("`\"8080\"` is quoted text: a port is 1 to 65535, written without quotes".into())
        );
        assert_eq!(
            read("[80]", as_port),
            Err("a list is not a number: a port is 1 to 65535".into())
        );
    }

    #[test]
    fn vrrp_priorities_are_1_to_255_or_absent() {
        assert_eq!(read("1", as_priority), Ok(1));
        assert_eq!(read("255", as_priority), Ok(255));
        assert_eq!(read("~", as_priority), Ok(0));
        let zero = read("0", as_priority).unwrap_err();
        assert_eq!(
            zero,
            "`0` is out of range: a VRRP priority is 1 to 255 (the highest holds the virtual IP)"
        );
        assert!(read("256", as_priority).is_err());
    }

    #[test]
    fn every_range_fits_its_type() {
        assert!(u16::try_from(PORT.max).is_ok() && u16::try_from(MX_PRIORITY.max).is_ok());
        assert!(u8::try_from(VRRP_PRIORITY.max).is_ok() && u8::try_from(WORKERS.max).is_ok());
        for r in [&SERVER_ID, &TTL, &MAXCONN, &HOST_NUMBER] {
            assert!(u32::try_from(r.max).is_ok(), "{r:?}");
        }
    }

    #[test]
    fn yes_and_no_are_true_and_false() {
        let f =
            |y: &str| flag(serde_yaml::from_str::<Value>(y).unwrap()).map_err(|e| e.to_string());
        for y in ["true", "yes", "Yes", "on", "ON"] {
            assert_eq!(f(y), Ok(true), "{y}");
        }
        for n in ["false", "no", "NO", "off"] {
            assert_eq!(f(n), Ok(false), "{n}");
        }
        assert_eq!(
            f("maybe"),
            Err(
                "`maybe` is not true or false (`yes` and `no` are read as true and false too)"
                    .into()
            )
        );
    }

    #[test]
    fn advert_interval_allows_fractions_in_range() {
        let f = |y: &str| {
            advert_interval(serde_yaml::from_str::<Value>(y).unwrap()).map_err(|e| e.to_string())
        };
        assert_eq!(f("0.1"), Ok(0.1));
        assert_eq!(f("3"), Ok(3.0));
        assert_eq!(f("40.95"), Ok(40.95));
        for bad in ["0", "0.001", "41", "255", ".nan", "-1"] {
            assert!(f(bad).is_err(), "{bad}");
        }
        assert_eq!(
            f("fast"),
            Err(
                "`fast` is not a number: an advert interval is 0.01 to 40.95 seconds (VRRP v3)"
                    .into()
            )
        );
    }

    #[test]
    fn the_range_of_a_path() {
        let at = |p: &str| range_at(p).map(|r| r.what);
        assert_eq!(
            at("servers.lb-01.components[0].haproxy.stats-port"),
            Some("a port")
        );
        assert_eq!(
            at("servers.lb-01.components[1].keepalived.priority"),
            Some("a VRRP priority")
        );
        assert_eq!(at("dns.records[3].priority"), Some("an MX priority"));
        assert_eq!(at("servers.web-01.networks.public"), Some("a host number"));
        assert_eq!(at("domain"), None);
    }

    /// serde's messages, as serde and serde_yaml write them today: a change
    /// of theirs shows here rather than as a Rust word in front of a user.
    #[test]
    fn serde_messages_in_the_stacks_words() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u16,
            b: Option<Vec<String>>,
            c: Option<std::collections::BTreeMap<String, String>>,
        }
        let err = |y: &str| {
            let v: Value = serde_yaml::from_str(y).unwrap();
            humanize(&serde_yaml::from_value::<S>(v).unwrap_err().to_string())
        };
        assert!(err("a: 1\nz: 2").starts_with("unknown key `z`; the keys here are `a`, `b`, `c`"));
        assert!(err("b: []").starts_with("`a` is missing"));
        assert!(
            err("a: 1\nb: x").starts_with("`x` is written here, where a list is expected"),
            "{}",
            err("a: 1\nb: x")
        );
        assert!(err("a: 1\nc: [1]")
            .starts_with("a list is written here, where a mapping (`key: value`) is expected"));
        assert!(err("a: 1\nb: {x: 1}")
            .starts_with("a mapping is written here, where a list is expected"));
        assert_eq!(humanize("a message of ours"), "a message of ours");
    }
}

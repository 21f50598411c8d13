//! The component registry: every kind of thing a server can run.
//!
//! Each kind lives in its own file with its options, the Debian packages it
//! needs, the ports it listens on and how it renders (files, services,
//! readiness probes and the checks `infractl validate` runs). This file holds
//! the one list of kinds; everything else (stack parsing, the JSON Schema,
//! the image recipe, rendering) walks that list.

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;

pub mod app;
pub mod client;
pub mod common;
pub mod dns;
pub mod haproxy;
pub mod keepalived;
pub mod mariadb;
pub mod monitoring;
pub mod nginx;
pub mod prometheus;
pub mod ufw;

use crate::stack::raw::Proto;

/// What the registry knows of a kind, independent of any stack.
#[derive(Debug)]
pub struct Kind {
    /// Name as written in a stack file.
    pub name: &'static str,
    /// One line for `--help`, errors and `infractl explain`.
    pub summary: &'static str,
    /// Debian packages the kind needs on a server.
    pub packages: &'static [&'static str],
    /// Templates (under `templates/`) the kind renders.
    pub templates: &'static [&'static str],
}

/// Every kind, in the order they are documented.
pub const KINDS: &[&Kind] = &[
    &nginx::KIND,
    &app::KIND,
    &mariadb::KIND,
    &haproxy::KIND,
    &keepalived::KIND,
    &ufw::KIND,
    &dns::KIND,
    &monitoring::KIND,
    &prometheus::KIND,
    &client::KIND,
];

/// Packages every node has, whatever it runs: the supervisor, and the tools
/// used to check and debug a lab from inside.
pub const BASE_PACKAGES: &[&str] = &[
    "runit",
    "ca-certificates",
    "curl",
    "iproute2",
    "iputils-ping",
    "procps",
    "netcat-openbsd",
    "bind9-dnsutils",
    "openssh-server",
    "openssl",
];

/// Names of every kind, for error messages.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// One component of a server, with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentSpec {
    Nginx(nginx::Options),
    App(app::Options),
    Mariadb(mariadb::Options),
    Haproxy(haproxy::Options),
    Keepalived(keepalived::Options),
    Ufw(ufw::Options),
    Dns(dns::Options),
    MonitoringClient(monitoring::Options),
    Prometheus(prometheus::Options),
    Client(client::Options),
}

impl ComponentSpec {
    pub fn kind(&self) -> &'static Kind {
        match self {
            ComponentSpec::Nginx(_) => &nginx::KIND,
            ComponentSpec::App(_) => &app::KIND,
            ComponentSpec::Mariadb(_) => &mariadb::KIND,
            ComponentSpec::Haproxy(_) => &haproxy::KIND,
            ComponentSpec::Keepalived(_) => &keepalived::KIND,
            ComponentSpec::Ufw(_) => &ufw::KIND,
            ComponentSpec::Dns(_) => &dns::KIND,
            ComponentSpec::MonitoringClient(_) => &monitoring::KIND,
            ComponentSpec::Prometheus(_) => &prometheus::KIND,
            ComponentSpec::Client(_) => &client::KIND,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name
    }

    /// The option key that sets `port` on this component (`https-port`),
    /// for errors to point at; None for a port no option sets.
    pub fn port_key(&self, port: u16) -> Option<&'static str> {
        let keys: Vec<(&'static str, u16)> = match self {
            ComponentSpec::Nginx(o) => vec![("port", o.port), ("https-port", o.https_port)],
            ComponentSpec::App(o) => vec![("port", o.port)],
            ComponentSpec::Haproxy(o) => vec![
                ("port", o.port),
                ("https-port", o.https_port),
                ("stats-port", o.stats_port),
            ],
            ComponentSpec::Prometheus(o) => vec![("port", o.port)],
            _ => vec![],
        };
        keys.into_iter().find(|(_, p)| *p == port).map(|(k, _)| k)
    }

    /// Ports this component itself listens on (not counting those the
    /// monitoring client adds for its exporters).
    pub fn ports(&self, tls: bool) -> Vec<(u16, Proto)> {
        match self {
            ComponentSpec::Nginx(o) => o.ports(),
            ComponentSpec::App(o) => vec![(o.port, Proto::Tcp)],
            ComponentSpec::Mariadb(_) => vec![(mariadb::PORT, Proto::Tcp)],
            ComponentSpec::Haproxy(o) => o.ports(tls),
            ComponentSpec::Dns(_) => vec![(53, Proto::Udp), (53, Proto::Tcp)],
            ComponentSpec::Prometheus(o) => vec![(o.port, Proto::Tcp)],
            ComponentSpec::Keepalived(_)
            | ComponentSpec::Ufw(_)
            | ComponentSpec::MonitoringClient(_)
            | ComponentSpec::Client(_) => vec![],
        }
    }
}

/// How a component is written, for messages.
const SHAPE: &str = "a component is written as its name (`nginx`) or as its name with options (`haproxy: { balance: roundrobin }`)";

/// Words people bring from elsewhere for what a kind here is called.
const HABITS: &[(&str, &str)] = &[
    ("mysql", "MySQL is Debian's MariaDB here: write `mariadb`"),
    ("apache", "the web server here is nginx: write `nginx`"),
    ("apache2", "the web server here is nginx: write `nginx`"),
    (
        "gunicorn",
        "the application server is `app` (gunicorn runs it)",
    ),
    ("bind", "the DNS server (BIND) is `dns`"),
    ("bind9", "the DNS server (BIND) is `dns`"),
    ("named", "the DNS server (BIND) is `dns`"),
    ("firewall", "the host firewall is `ufw`"),
    (
        "node-exporter",
        "the exporters come with `monitoring-client`",
    ),
    ("load-balancer", "the load balancer is `haproxy`"),
];

/// The kind named `name`, or the message saying which kinds there are.
fn known_kind(name: &str) -> Result<&'static str, String> {
    if let Some(k) = KINDS.iter().find(|k| k.name == name) {
        return Ok(k.name);
    }
    let hint = match HABITS.iter().find(|(w, _)| w.eq_ignore_ascii_case(name)) {
        Some((_, h)) => format!(" ({h})"),
        None => crate::error::did_you_mean(name, kind_names().iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default(),
    };
    Err(format!(
        "unknown component `{name}`{hint}; known components: {}",
        kind_names().join(", ")
    ))
}

/// Reads the options of the kind it names (`nginx:` alone means the
/// defaults), so that serde's path reaches into them: an error points at
/// `haproxy.port`, not at the whole component.
struct OptionsOf(&'static str);

impl<'de> DeserializeSeed<'de> for OptionsOf {
    type Value = ComponentSpec;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ComponentSpec, D::Error> {
        fn opts<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
            match Option::<T>::deserialize(d)? {
                Some(t) => Ok(t),
                None => defaults(),
            }
        }
        Ok(match self.0 {
            "nginx" => ComponentSpec::Nginx(opts(d)?),
            "app" => ComponentSpec::App(opts(d)?),
            "mariadb" => ComponentSpec::Mariadb(opts(d)?),
            "haproxy" => ComponentSpec::Haproxy(opts(d)?),
            "keepalived" => ComponentSpec::Keepalived(opts(d)?),
            "ufw" => ComponentSpec::Ufw(opts(d)?),
            "dns" => ComponentSpec::Dns(opts(d)?),
            "monitoring-client" => ComponentSpec::MonitoringClient(opts(d)?),
            "prometheus" => ComponentSpec::Prometheus(opts(d)?),
            "client" => ComponentSpec::Client(opts(d)?),
            other => unreachable!("`{other}` is a kind of KINDS"),
        })
    }
}

/// Options read from nothing: each field's default, or the message naming
/// the one that has none.
fn defaults<'de, T: Deserialize<'de>, E: serde::de::Error>() -> Result<T, E> {
    let empty = std::iter::empty::<(&str, &str)>();
    T::deserialize(serde::de::value::MapDeserializer::<_, E>::new(empty))
}

/// A value that is an error wherever it is read: serde's path then ends at
/// the key that should not be there.
struct Refuse(String);

impl<'de> DeserializeSeed<'de> for Refuse {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(serde::de::Error::custom(self.0))
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = ComponentSpec;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a component (its name, or its name with options)")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ComponentSpec, E> {
        let kind = known_kind(name).map_err(E::custom)?;
        OptionsOf(kind).deserialize(serde::de::value::UnitDeserializer::<E>::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ComponentSpec, A::Error> {
        use serde::de::Error;
        let Some(name) = map.next_key::<Value>()? else {
            return Err(A::Error::custom(SHAPE));
        };
        let Value::String(name) = name else {
            return Err(A::Error::custom(SHAPE));
        };
        let kind = known_kind(&name).map_err(A::Error::custom)?;
        let spec = map.next_value_seed(OptionsOf(kind))?;
        if let Some(extra) = map.next_key::<Value>()? {
            let extra = crate::stack::de::shown(&extra);
            map.next_value_seed(Refuse(format!(
                "unknown key {extra} beside `{kind}`: if it is an option of `{kind}`, \
                 indent it under `{kind}:`"
            )))?;
        }
        Ok(spec)
    }
}

impl<'de> Deserialize<'de> for ComponentSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SpecVisitor)
    }
}

impl schemars::JsonSchema for ComponentSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Component".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Written alone, a kind takes its defaults: kinds with a required
        // option (keepalived's `vip`) are not among these.
        let alone: Vec<&str> = kind_names()
            .into_iter()
            .filter(|k| {
                let unit = serde::de::value::UnitDeserializer::<serde::de::value::Error>::new();
                OptionsOf(k).deserialize(unit).is_ok()
            })
            .collect();
        let mut any_of: Vec<serde_json::Value> = vec![serde_json::json!({
            "description": "A component with default options.",
            "type": "string",
            "enum": alone,
        })];
        let mut with = |name: &str, summary: &str, schema: schemars::Schema| {
            any_of.push(serde_json::json!({
                "description": summary,
                "type": "object",
                "additionalProperties": false,
                "required": [name],
                "properties": { name: { "anyOf": [schema, { "type": "null" }] } },
            }));
        };
        with(
            "nginx",
            nginx::KIND.summary,
            generator.subschema_for::<nginx::Options>(),
        );
        with(
            "app",
            app::KIND.summary,
            generator.subschema_for::<app::Options>(),
        );
        with(
            "mariadb",
            mariadb::KIND.summary,
            generator.subschema_for::<mariadb::Options>(),
        );
        with(
            "haproxy",
            haproxy::KIND.summary,
            generator.subschema_for::<haproxy::Options>(),
        );
        with(
            "keepalived",
            keepalived::KIND.summary,
            generator.subschema_for::<keepalived::Options>(),
        );
        with(
            "ufw",
            ufw::KIND.summary,
            generator.subschema_for::<ufw::Options>(),
        );
        with(
            "dns",
            dns::KIND.summary,
            generator.subschema_for::<dns::Options>(),
        );
        with(
            "monitoring-client",
            monitoring::KIND.summary,
            generator.subschema_for::<monitoring::Options>(),
        );
        with(
            "prometheus",
            prometheus::KIND.summary,
            generator.subschema_for::<prometheus::Options>(),
        );
        with(
            "client",
            client::KIND.summary,
            generator.subschema_for::<client::Options>(),
        );
        schemars::json_schema!({
            "description": "A component of the server: its name, or its name with options.",
            "anyOf": any_of,
        })
    }
}

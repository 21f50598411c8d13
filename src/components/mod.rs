//! The component registry: every kind of thing a server can run.
//!
//! Each kind lives in its own file with its options, the Debian packages it
//! needs, the ports it listens on and how it renders (files, services,
//! readiness probes and the checks `infractl validate` runs). This file holds
//! the one list of kinds; everything else (stack parsing, the JSON Schema,
//! the image recipe, rendering) walks that list.

use serde::Deserialize;
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

    fn from_parts(name: &str, opts: Value) -> Result<Self, String> {
        fn opts_of<T: for<'de> Deserialize<'de>>(kind: &str, v: Value) -> Result<T, String> {
            let v = if v.is_null() {
                Value::Mapping(Default::default())
            } else {
                v
            };
            serde_yaml::from_value(v).map_err(|e| format!("component `{kind}`: {e}"))
        }
        Ok(match name {
            "nginx" => ComponentSpec::Nginx(opts_of(name, opts)?),
            "app" => ComponentSpec::App(opts_of(name, opts)?),
            "mariadb" => ComponentSpec::Mariadb(opts_of(name, opts)?),
            "haproxy" => ComponentSpec::Haproxy(opts_of(name, opts)?),
            "keepalived" => ComponentSpec::Keepalived(opts_of(name, opts)?),
            "ufw" => ComponentSpec::Ufw(opts_of(name, opts)?),
            "dns" => ComponentSpec::Dns(opts_of(name, opts)?),
            "monitoring-client" => ComponentSpec::MonitoringClient(opts_of(name, opts)?),
            "prometheus" => ComponentSpec::Prometheus(opts_of(name, opts)?),
            "client" => ComponentSpec::Client(opts_of(name, opts)?),
            other => {
                let hint = crate::error::did_you_mean(other, kind_names().iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown component `{other}`{hint}; known components: {}",
                    kind_names().join(", ")
                ));
            }
        })
    }
}

impl<'de> Deserialize<'de> for ComponentSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let shape = "a component is written as its name (`nginx`) or as its name with options (`haproxy: { balance: roundrobin }`)";
        let v = Value::deserialize(d)?;
        let (name, opts) = match v {
            Value::String(s) => (s, Value::Null),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.into_iter().next().expect("one entry");
                match k {
                    Value::String(s) => (s, v),
                    _ => return Err(D::Error::custom(shape)),
                }
            }
            _ => return Err(D::Error::custom(shape)),
        };
        ComponentSpec::from_parts(&name, opts).map_err(D::Error::custom)
    }
}

impl schemars::JsonSchema for ComponentSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Component".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut any_of: Vec<serde_json::Value> = vec![serde_json::json!({
            "description": "A component with default options.",
            "type": "string",
            "enum": kind_names(),
        })];
        let mut with = |name: &str, summary: &str, schema: schemars::Schema| {
            any_of.push(serde_json::json!({
                "description": summary,
                "type": "object",
                "additionalProperties": false,
                "required": [name],
                "properties": { name: schema },
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

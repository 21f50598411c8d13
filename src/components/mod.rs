//! The component registry: every kind of thing a server can run.
//!
//! Each kind lives in its own file (and its templates under `templates/`):
//! its [`Kind`] (name, packages, templates) and the [`Component`] its
//! `Options` implement: the ports it listens on, what it makes of its
//! server in the topology (roles, links), the flows it needs, the exporter
//! it brings, how it renders (files, services, readiness probes and the
//! checks `infractl validate` runs), its line in `infractl explain`, its
//! hop of the request path and its part of the diagram. This file holds
//! the one list of kinds (`kinds!`); everything else (stack parsing, the
//! JSON Schema, the image recipe, the topology, rendering, explain, the
//! diagram) walks that list or asks a component.

use std::any::Any;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;

use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::stack::Stack;
use crate::topology::{Flows, Leg, Node, Topology};
use hop::Hop;
use part::{Part, Tier};

/// Declares the kinds, one line each (its variant of [`ComponentSpec`] and
/// its module): the module, its place in [`KINDS`], its variant, reading its
/// options and their JSON Schema. All the rest of a kind is in its own file:
/// its [`Kind`] and the [`Component`] its `Options` implement.
macro_rules! kinds {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every kind, in the order they are documented.
        pub const KINDS: &[&Kind] = &[$(&$module::KIND),+];

        /// One component of a server, with its options.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ComponentSpec {
            $($variant($module::Options)),+
        }

        impl ComponentSpec {
            pub fn kind(&self) -> &'static Kind {
                match self {
                    $(ComponentSpec::$variant(_) => &$module::KIND),+
                }
            }

            /// What the component does, whatever its kind.
            pub fn component(&self) -> &dyn Component {
                match self {
                    $(ComponentSpec::$variant(o) => o),+
                }
            }
        }

        /// Reads the options of the kind named `name` (one of [`KINDS`]).
        fn read_options<'de, D: Deserializer<'de>>(
            name: &str,
            d: D,
        ) -> std::result::Result<ComponentSpec, D::Error> {
            $(
                if name == $module::KIND.name {
                    return Ok(ComponentSpec::$variant(options(d)?));
                }
            )+
            unreachable!("`{name}` is a kind of KINDS")
        }

        /// Adds every kind's flows in `leg`, in registry order.
        pub fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
            $(<$module::Options as Component>::flows(leg, topo, out);)+
        }

        /// Every kind's hop of the request path (`Component::hop`), with
        /// its tier, in registry order.
        pub fn hops(topo: &Topology) -> Vec<(Tier, Hop)> {
            let mut out = Vec::new();
            $(out.extend(<$module::Options as Component>::hop(topo));)+
            out
        }

        /// Each kind with the JSON Schema of its options.
        fn option_schemas(
            generator: &mut schemars::SchemaGenerator,
        ) -> Vec<(&'static Kind, schemars::Schema)> {
            vec![$((&$module::KIND, generator.subschema_for::<$module::Options>())),+]
        }
    };
}

kinds! {
    Nginx => nginx,
    App => app,
    Mariadb => mariadb,
    Haproxy => haproxy,
    Keepalived => keepalived,
    Ufw => ufw,
    Dns => dns,
    MonitoringClient => monitoring,
    Prometheus => prometheus,
    Client => client,
}

pub mod common;
pub mod hop;
pub mod part;

/// What the registry knows of a kind, independent of any stack.
#[derive(Debug)]
pub struct Kind {
    /// Name as written in a stack file.
    pub name: &'static str,
    /// Memory its processes hold on a running server, in MB (resident,
    /// measured on a fresh lab): what placing a class's labs counts.
    pub memory_mb: u32,
    /// One line for `--help`, errors and `infractl explain`.
    pub summary: &'static str,
    /// Debian packages the kind needs on a server.
    pub packages: &'static [&'static str],
    /// Templates (under `templates/`) the kind renders.
    pub templates: &'static [&'static str],
    /// Words people bring from elsewhere for this kind, each with the hint
    /// an unknown component of that name gets.
    pub habits: &'static [(&'static str, &'static str)],
}

/// What a component does on its server: implemented by each kind's
/// `Options`, reached through [`ComponentSpec::component`].
pub trait Component: Any + std::fmt::Debug {
    /// Ports the component itself listens on; `server` is every component
    /// of its server (the monitoring client listens for the others'
    /// exporters).
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        Vec::new()
    }

    /// The options that set ports (`https-port`), with the port each sets,
    /// for errors to point at.
    fn port_options(&self) -> Vec<(&'static str, u16)> {
        Vec::new()
    }

    /// What the component makes of its server in the topology: its roles,
    /// and the servers it sends to.
    fn shape(&self, _stack: &Stack, _node: &mut Node) {}

    /// Adds the flows servers of this kind need in `leg` of the
    /// topology's list of flows (called once per leg for the whole kind,
    /// with the topology's nodes and virtual IPs derived).
    fn flows(_leg: Leg, _topo: &Topology, _out: &mut Flows)
    where
        Self: Sized,
    {
    }

    /// What the component does on its server (`node`) in this topology:
    /// its line in `infractl explain`.
    fn explain(&self, topo: &Topology, node: &Node) -> String;

    /// The part it draws inside its server on the diagram, if it is on the
    /// request path.
    fn draw(&self, _topo: &Topology, _node: &Node) -> Option<Part> {
        None
    }

    /// What it serves on the network besides the site itself, named for
    /// `explain` (a server without a firewall exposes these): (what, port).
    fn services(&self) -> Vec<(&'static str, u16)> {
        Vec::new()
    }

    /// The metrics a monitored server exports for this component, if any
    /// (see `monitoring::exporters`).
    fn exporter(&self) -> Option<Exporter> {
        None
    }

    /// Writes the component's files, services, probes and checks.
    fn render(&self, ctx: &Ctx, out: &mut Out) -> crate::error::Result<()>;

    // ---- verify: what a running lab proves of the component ----

    /// What `verify` proves of this component on its server (`node`) on a
    /// running lab, besides what it proves of the whole stack: see
    /// [`ToProve`].
    fn to_prove(&self, _topo: &Topology, _node: &Node) -> Vec<ToProve> {
        Vec::new()
    }

    // -- `explain`'s request path ---------------------------------------

    /// The step a request takes through the servers of this kind, for
    /// `explain`'s request path, with the tier that places it (DNS first,
    /// the database last); None for a kind no request goes through, or
    /// when no server runs it. Called once for the whole kind.
    fn hop(_topo: &Topology) -> Option<(Tier, Hop)>
    where
        Self: Sized,
    {
        None
    }
}

/// Metrics a server with the monitoring client exports for one of its
/// components, scraped by the lab's Prometheus.
#[derive(Debug, Clone, Copy)]
pub struct Exporter {
    /// Prometheus job (`node`, `nginx`, ...).
    pub job: &'static str,
    pub port: u16,
    /// What serves the metrics, for the flow's purpose (`nginx exporter`).
    pub name: &'static str,
    /// What they tell, for `explain`; `{port}` stands for the port.
    pub about: &'static str,
    /// The program the monitoring client runs for them; None when the
    /// component serves its metrics itself (HAProxy's stats port).
    pub program: Option<ExporterProgram>,
    /// The alerts its metrics raise, rendered into the lab's rules when a
    /// server of the lab exports them.
    pub alerts: &'static [Alert],
}

/// An alerting rule of the lab's Prometheus (see `prometheus::rules`),
/// as its rules template reads it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Alert {
    /// The alert's name (`TargetDown`).
    pub name: &'static str,
    /// The PromQL condition; each series it returns is one alert.
    pub expr: &'static str,
    /// How long the condition holds before the alert fires (a Prometheus
    /// duration).
    pub hold: &'static str,
    /// `critical` (the site or a tier is losing something now) or
    /// `warning` (something to look at).
    pub severity: &'static str,
    /// The alert's one line, in Prometheus's template language
    /// (`{{ $labels.server }}`).
    pub summary: &'static str,
}

/// An exporter program the monitoring client runs.
#[derive(Debug, Clone, Copy)]
pub struct ExporterProgram {
    /// Its Debian package.
    pub package: &'static str,
    /// Writes its service (and the files it reads).
    pub render: fn(&Ctx, &mut Out) -> crate::error::Result<()>,
}

impl Exporter {
    /// The purpose of the flow that scrapes it (`metrics: nginx exporter`).
    pub fn purpose(&self) -> String {
        format!("metrics: {}", self.name)
    }

    /// What it tells, with its port (`host metrics (node, 9100)`).
    pub fn about(&self) -> String {
        self.about.replace("{port}", &self.port.to_string())
    }
}

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

impl ComponentSpec {
    pub fn name(&self) -> &'static str {
        self.kind().name
    }

    /// The option key that sets `port` on this component (`https-port`),
    /// for errors to point at; None for a port no option sets.
    pub fn port_key(&self, port: u16) -> Option<&'static str> {
        let keys = self.component().port_options();
        keys.into_iter().find(|(_, p)| *p == port).map(|(k, _)| k)
    }

    /// Ports this component listens on, among the components of its
    /// server (`server`): the monitoring client's are its exporters.
    pub fn ports(&self, server: &[ComponentSpec], tls: bool) -> Vec<(u16, Proto)> {
        self.component().ports(server, tls)
    }

    /// The options of kind `T`, if this component is one.
    pub fn options<T: Component>(&self) -> Option<&T> {
        let any: &dyn Any = self.component();
        any.downcast_ref::<T>()
    }
}

#[cfg(test)]
mod tests;

/// How a component is written, for messages.
const SHAPE: &str = "a component is written as its name (`nginx`) or as its name with options (`haproxy: { balance: roundrobin }`)";

/// The kind named `name`, or the message saying which kinds there are.
fn known_kind(name: &str) -> Result<&'static str, String> {
    if let Some(k) = KINDS.iter().find(|k| k.name == name) {
        return Ok(k.name);
    }
    let habit = KINDS
        .iter()
        .flat_map(|k| k.habits)
        .find(|(w, _)| w.eq_ignore_ascii_case(name));
    let hint = match habit {
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
        read_options(self.0, d)
    }
}

/// A kind's options as written, or its defaults when it is written alone.
fn options<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(t) => Ok(t),
        None => defaults(),
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
        for (kind, schema) in option_schemas(generator) {
            let name = kind.name;
            any_of.push(serde_json::json!({
                "description": kind.summary,
                "type": "object",
                "additionalProperties": false,
                "required": [name],
                "properties": { name: { "anyOf": [schema, { "type": "null" }] } },
            }));
        }
        schemars::json_schema!({
            "description": "A component of the server: its name, or its name with options.",
            "anyOf": any_of,
        })
    }
}

// ---- verify: what a running lab proves of the components ----

/// A claim `verify` proves of one component on its running server, named by
/// the component's kind ([`Component::to_prove`]); verify knows how to prove
/// each. A claim about a group (the DNS servers, a virtual IP's load
/// balancers) is named once, by the group's first server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToProve {
    /// The lab's DNS servers (the primary first) each answer for the
    /// domain with the zone's serial: a secondary has the primary's zone
    /// as it is now.
    ZoneSerial { servers: Vec<String> },
    /// This load balancer's hop to the web server `web` is HTTPS, verified
    /// against the lab CA.
    VerifiedHop { web: String },
    /// Requests to the site are spread over `backends`, every one
    /// answering (proved of the first load balancer).
    Balancing { backends: Vec<String> },
    /// A node of a Galera cluster of `size` nodes: it is in the cluster,
    /// and a note written through the application reaches it.
    GaleraNode { size: usize },
    /// A replica: a note written through the application reaches it in
    /// time, and it refuses writes.
    Replica,
    /// Its firewall is active.
    Firewall,
    /// The Prometheus listening on `port` has every one of `wanted`
    /// (`(job, server)`) as a target that is up (proved of the first).
    TargetsUp {
        port: u16,
        wanted: Vec<(String, String)>,
    },
    /// Its request count (`metric`, a counter labelled by server) rises
    /// after traffic.
    RequestCount { metric: &'static str },
    /// The virtual IP `address` is held by the first of `members` (the
    /// highest priority); the site answers on it through another while
    /// that one is down, and it holds the address again once back.
    Failover {
        address: std::net::Ipv4Addr,
        members: Vec<String>,
    },
}

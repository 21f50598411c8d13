//! The stack file format: the serde types a stack YAML deserializes into.
//!
//! These types say what may be written; `stack::validate` proves that what is
//! written makes sense (addresses inside their networks, a replica has a
//! primary, ...). The JSON Schema printed by `infractl schema` is generated
//! from these types, so the doc comments below are what editors show.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use super::de;

/// A lab stack: servers and their components, networks, DNS records, TLS and
/// firewall policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StackFile {
    /// Name of the stack: containers are named `<name>-<server>`. Defaults to
    /// the file name without `.yaml`.
    pub name: Option<String>,
    /// One line saying what this stack is, shown by `infractl list`.
    pub description: Option<String>,
    /// Another stack this one builds on: a built-in name (`task1`) or a path
    /// relative to this file. Mappings merge key by key, lists and scalars
    /// replace, and `~` (null) removes a key inherited from the parent.
    pub extends: Option<String>,
    /// The site's DNS domain, served by the lab's DNS server (e.g. `foobar.com`).
    pub domain: String,
    /// Networks of the lab, by name. Each server joins some of them.
    pub networks: IndexMap<String, Network>,
    /// Servers of the lab, by name (lowercase letters, digits and `-`).
    pub servers: IndexMap<String, Server>,
    /// Records of the lab's DNS zone.
    #[serde(default)]
    pub dns: Dns,
    /// HTTPS for the site: a certificate from the lab's own certificate
    /// authority, served by the load balancers (or the web servers when
    /// there is no load balancer).
    pub tls: Option<Tls>,
    /// Firewall policy for the servers that have the `ufw` component. Flows
    /// the topology needs are allowed automatically; everything else
    /// incoming is denied.
    #[serde(default)]
    pub firewall: Firewall,
}

/// A network of the lab.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    /// IPv4 subnet in CIDR notation, e.g. `10.101.0.0/24`. The first host
    /// address is the gateway.
    pub subnet: String,
    /// The network users reach the site from (where the client, DNS and
    /// load balancers are). Traffic between servers prefers the other
    /// networks, and a server's DNS name points at its public address.
    #[serde(default, deserialize_with = "de::flag")]
    #[schemars(schema_with = "de::flag_schema")]
    pub public: bool,
}

/// A server's address on a network: a full IPv4 address (`10.101.0.10`)
/// or the host number within the network's subnet (`10`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    Host(u32),
    Addr(String),
}

impl<'de> Deserialize<'de> for AddrSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_yaml::Value;
        const ALLOWED: &str = "an address is a full IPv4 address (`10.101.0.10`) or a host number within the network's subnet (`10`)";
        let v = Value::deserialize(d)?;
        match &v {
            Value::String(s) => Ok(AddrSpec::Addr(s.clone())),
            Value::Number(n) => match n.as_u64().map(u32::try_from) {
                Some(Ok(h)) => Ok(AddrSpec::Host(h)),
                _ => Err(D::Error::custom(format!(
                    "`{n}` is not an address: {ALLOWED}"
                ))),
            },
            other => Err(D::Error::custom(format!(
                "{} is not an address: {ALLOWED}",
                de::shown(other)
            ))),
        }
    }
}

impl JsonSchema for AddrSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A full IPv4 address (`10.101.0.10`) or the host number within the network's subnet (`10`).",
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": 4294967295u32 },
                { "type": "string" }
            ]
        })
    }
}

impl std::fmt::Display for AddrSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddrSpec::Host(n) => write!(f, "{n}"),
            AddrSpec::Addr(a) => f.write_str(a),
        }
    }
}

/// A server of the lab: a container with the Docker driver, a host with SSH.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    /// What this server is for, in a few words.
    pub description: Option<String>,
    /// The server's address on each network it joins: a full address
    /// (`{ public: 10.101.0.10 }`) or a host number in the subnet
    /// (`{ public: 10, private: 10 }`).
    pub networks: IndexMap<String, AddrSpec>,
    /// Components running on the server: a name (`nginx`) or a name with
    /// options (`haproxy: { balance: roundrobin }`).
    pub components: Vec<crate::components::ComponentSpec>,
}

/// The lab's DNS zone (served by the server with the `dns` component).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dns {
    /// Time to live of every record, in seconds.
    #[serde(default = "default_ttl", deserialize_with = "de::ttl")]
    #[schemars(schema_with = "de::ttl_schema")]
    pub ttl: u32,
    /// The zone's records.
    #[serde(default)]
    pub records: Vec<Record>,
}

fn default_ttl() -> u32 {
    300
}

/// One DNS record of the zone.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Record {
    /// Name relative to the domain: `www`, or `@` for the domain itself.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// A: a server name (its first address) or an IPv4 address in a lab
    /// network (a virtual IP). CNAME and MX: a name in the zone (`www`) or a
    /// fully qualified name ending in `.`. TXT: the text.
    pub value: String,
    /// MX preference (lower is preferred), 0 to 65535. Default: 10.
    #[serde(default, deserialize_with = "de::mx_priority")]
    #[schemars(schema_with = "de::mx_priority_schema")]
    pub priority: Option<u16>,
}

/// DNS record types the lab zone teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum RecordType {
    /// Address record: name to IPv4 address.
    A,
    /// Alias: name to another name.
    CNAME,
    /// Mail exchanger for the domain.
    MX,
    /// Free text (SPF, site verification, ...).
    TXT,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
        }
    }
}

/// HTTPS for the site.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tls {
    /// Names the certificate is valid for (fully qualified).
    pub names: Vec<String>,
    /// Re-encrypt from the load balancer to the web servers (end-to-end
    /// TLS) instead of sending plain HTTP behind the load balancer.
    #[serde(default, deserialize_with = "de::flag")]
    #[schemars(schema_with = "de::flag_schema")]
    pub reencrypt: bool,
}

/// Firewall policy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Firewall {
    /// Servers allowed to reach SSH (port 22) on every firewalled server:
    /// the administrator's workstation.
    #[serde(default)]
    pub ssh_from: Vec<String>,
    /// Extra flows to allow, beyond those the topology needs.
    #[serde(default)]
    pub allow: Vec<FirewallRule>,
}

/// One extra allowed flow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FirewallRule {
    /// Source server name, or `any`.
    pub from: String,
    /// Destination server name (it must have the `ufw` component).
    pub to: String,
    /// Destination port (1 to 65535); not for `vrrp`, which has none.
    #[serde(default, deserialize_with = "de::port")]
    #[schemars(schema_with = "de::port_schema")]
    pub port: u16,
    /// Transport protocol.
    #[serde(default)]
    pub proto: Proto,
}

/// Transport protocol of a flow.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    serde::Serialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
    /// VRRP (IP protocol 112), used by keepalived.
    Vrrp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Vrrp => "vrrp",
        }
    }
}

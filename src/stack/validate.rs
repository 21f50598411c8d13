//! Semantic validation: turns a deserialized stack file into a [`Stack`],
//! or into diagnostics pointing at every line that is wrong.
//!
//! The rule is that a stack which passes here renders into files its
//! programs accept: whatever nginx, HAProxy, BIND or keepalived would refuse
//! (a CNAME beside other data, a port SSH already holds) is refused here
//! first, at its line, in the stack's words. Ranges of single numbers are
//! checked as they are read (`stack::de`); what needs the whole stack is
//! checked here.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::checker::{list_hint, Checker};
use super::names::{dns_name_problem, name_problem, MAX_DNS_NAME, MAX_LABEL, MAX_NAME};
use super::raw::{AddrSpec, Proto, StackFile};
use super::source::Locator;
use super::{Network, Server, Stack, Subnet};
use crate::components::ComponentSpec;
use crate::error::{Diagnostic, Error, Result};

/// The port every server's SSH server holds.
const SSH_PORT: u16 = 22;

/// A Prometheus duration as the stacks use them: a number of seconds or minutes.
fn valid_duration(s: &str) -> bool {
    s.strip_suffix(['s', 'm'])
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
}

impl Checker<'_> {
    /// The stack's name, `written` in the stack or taken from its file's.
    fn stack_name(&mut self, name: &str, written: bool) {
        let Some(p) = name_problem(name, MAX_NAME) else {
            return;
        };
        let why = "it prefixes the names of the stack's containers and networks";
        if written {
            self.err("name", format!("stack name `{name}` {p}"), Some(why.into()));
        } else {
            let msg = format!("stack name `{name}`, taken from the file's name, {p}");
            let hint = format!("{why}: write `name:` in the stack, or rename the file");
            self.diags.push(Diagnostic::new(msg).hint(hint));
        }
    }

    fn domain(&mut self) {
        let d = &self.raw.domain;
        let problem = if d.split('.').count() < 2 {
            Some("has no `.`: a domain is a name under a top-level domain".to_string())
        } else if d.len() > MAX_DNS_NAME - MAX_LABEL - 1 {
            Some(format!(
                "is {} characters long: at most {} leave room for the zone's names",
                d.len(),
                MAX_DNS_NAME - MAX_LABEL - 1
            ))
        } else {
            d.split('.').find_map(|l| {
                name_problem(l, MAX_LABEL).map(|p| format!("has the label `{l}`, which {p}"))
            })
        };
        if let Some(p) = problem {
            let msg = format!("domain `{d}` {p}");
            self.err("domain", msg, Some("e.g. `foobar.com`".into()));
        }
    }

    fn networks(&mut self) -> Vec<Network> {
        let mut networks: Vec<Network> = Vec::new();
        for (n, net) in &self.raw.networks {
            let path = format!("networks.{n}");
            if let Some(p) = name_problem(n, MAX_NAME) {
                self.key_err(&path, format!("network name `{n}` {p}"), None);
            }
            match net.subnet.parse::<Subnet>() {
                Ok(subnet) => {
                    if let Some(other) = networks.iter().find(|o| o.subnet.overlaps(subnet)) {
                        let msg = format!(
                            "network `{n}`: subnet {subnet} overlaps network `{}` ({})",
                            other.name, other.subnet
                        );
                        self.err(&format!("{path}.subnet"), msg, None);
                    }
                    networks.push(Network {
                        name: n.clone(),
                        subnet,
                        public: net.public,
                    });
                }
                Err(e) => self.err(
                    &format!("{path}.subnet"),
                    format!("network `{n}`: {e}"),
                    None,
                ),
            }
        }
        networks
    }

    /// The address `addr` names on `network`, or why it names none.
    fn address(
        &mut self,
        apath: &str,
        sname: &str,
        network: &Network,
        addr: &AddrSpec,
    ) -> Option<Ipv4Addr> {
        let (net, subnet) = (&network.name, network.subnet);
        let first = Ipv4Addr::from(u32::from(subnet.gateway()) + 1);
        let last = Ipv4Addr::from(u32::from(subnet.broadcast()) - 1);
        let range_hint = Some(format!(
            "pick a host address from {first} to {last} (host numbers 2 to {})",
            u32::from(last) - u32::from(subnet.base)
        ));
        let ip = match addr {
            AddrSpec::Addr(a) => match a.parse::<Ipv4Addr>() {
                Ok(ip) => ip,
                Err(_) => {
                    let msg =
                        format!("server `{sname}`: `{a}` is not an IPv4 address or a host number");
                    self.err(apath, msg, range_hint);
                    return None;
                }
            },
            AddrSpec::Host(n) => {
                let size = u32::from(subnet.broadcast()) - u32::from(subnet.base);
                if *n >= size {
                    let msg = format!(
                        "server `{sname}`: host number {n} does not fit in `{net}` ({subnet})"
                    );
                    self.err(apath, msg, range_hint);
                    return None;
                }
                Ipv4Addr::from(u32::from(subnet.base) + n)
            }
        };
        if !subnet.contains(ip) {
            let msg =
                format!("server `{sname}`: address {ip} is outside network `{net}` ({subnet})");
            self.err(apath, msg, range_hint);
            return None;
        }
        if ip == subnet.base || ip == subnet.broadcast() || ip == subnet.gateway() {
            let msg = format!(
                "server `{sname}`: {ip} is the network, gateway or broadcast address of `{net}`"
            );
            self.err(apath, msg, range_hint);
            return None;
        }
        Some(ip)
    }

    fn servers(&mut self, networks: &[Network]) -> Vec<Server> {
        let raw = self.raw;
        let net_names: Vec<String> = raw.networks.keys().cloned().collect();
        let mut servers: Vec<Server> = Vec::new();
        let mut taken: HashMap<Ipv4Addr, String> = HashMap::new();
        if raw.servers.is_empty() {
            self.err("servers", "the stack has no servers", None);
        }
        for (sname, s) in &raw.servers {
            let spath = format!("servers.{sname}");
            if let Some(p) = name_problem(sname, MAX_NAME) {
                self.key_err(
                    &spath,
                    format!("server name `{sname}` {p}"),
                    Some(
                        "a server name is its host name and names its container, e.g. `web-01`"
                            .into(),
                    ),
                );
            }
            if s.networks.is_empty() {
                self.err(
                    &format!("{spath}.networks"),
                    format!("server `{sname}` joins no network"),
                    Some(format!("networks of this stack: {}", net_names.join(", "))),
                );
            }
            let mut addrs = Vec::new();
            for (net, addr) in &s.networks {
                let apath = format!("{spath}.networks.{net}");
                let Some(network) = networks.iter().find(|n| &n.name == net) else {
                    if !raw.networks.contains_key(net) {
                        let hint = list_hint("networks of this stack", net, &net_names);
                        let msg = format!("server `{sname}`: unknown network `{net}`");
                        self.key_err(&apath, msg, hint);
                    }
                    continue;
                };
                let Some(ip) = self.address(&apath, sname, network, addr) else {
                    continue;
                };
                if let Some(other) = taken.get(&ip) {
                    let msg =
                        format!("server `{sname}`: address {ip} is already used by `{other}`");
                    self.err(&apath, msg, None);
                    continue;
                }
                taken.insert(ip, sname.clone());
                addrs.push((net.clone(), ip));
            }
            self.components(sname, s, networks, &taken);
            let public_addr = addrs
                .iter()
                .find(|(n, _)| networks.iter().any(|x| &x.name == n && x.public))
                .or(addrs.first())
                .map(|(_, a)| *a)
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            servers.push(Server {
                name: sname.clone(),
                description: s.description.clone(),
                addrs,
                public_addr,
                components: s.components.clone(),
            });
        }
        servers
    }

    /// Each kind once, no port held twice (nor SSH's), each kind's options.
    fn components(
        &mut self,
        sname: &str,
        s: &super::raw::Server,
        networks: &[Network],
        taken: &HashMap<Ipv4Addr, String>,
    ) {
        let spath = format!("servers.{sname}");
        if s.components.is_empty() {
            self.err(
                &format!("{spath}.components"),
                format!("server `{sname}` has no components"),
                Some(format!(
                    "known components: {}",
                    crate::components::kind_names().join(", ")
                )),
            );
        }
        let mut ports: HashMap<(u16, &'static str), &'static str> = HashMap::new();
        let tls = self.raw.tls.is_some();
        for (i, comp) in s.components.iter().enumerate() {
            let cpath = format!("{spath}.components[{i}]");
            let kind = comp.name();
            if s.components[..i].iter().any(|o| o.name() == kind) {
                let msg = format!("server `{sname}`: component `{kind}` is listed twice");
                self.err(&cpath, msg, None);
                continue;
            }
            for (port, proto) in comp.ports(&s.components, tls) {
                // At the option that sets the port, when one does.
                let ppath = match comp.port_key(port) {
                    Some(key) => format!("{cpath}.{kind}.{key}"),
                    None => cpath.clone(),
                };
                if (port, proto) == (SSH_PORT, Proto::Tcp) {
                    let msg = format!("server `{sname}`: `{kind}` would listen on port 22/tcp, where the server's SSH server listens");
                    self.err(&ppath, msg, Some("give it another port".into()));
                }
                match ports.insert((port, proto.as_str()), kind) {
                    Some(other) if other != kind => self.err(
                        &ppath,
                        format!("server `{sname}`: `{other}` and `{kind}` both listen on port {port}/{}", proto.as_str()),
                        Some("give one of them another port (e.g. `port: 8081`), or move it to another server".into()),
                    ),
                    _ => {}
                }
            }
            match comp {
                ComponentSpec::Keepalived(o) => {
                    self.keepalived(&cpath, sname, s, &o.vip, networks, taken)
                }
                ComponentSpec::Prometheus(o) if !valid_duration(&o.scrape_interval) => self.err(
                    &format!("{cpath}.prometheus.scrape-interval"),
                    format!(
                        "`{}` is not a duration: write seconds or minutes, like `5s` or `1m`",
                        o.scrape_interval
                    ),
                    None,
                ),
                _ => {}
            }
        }
    }

    fn keepalived(
        &mut self,
        cpath: &str,
        sname: &str,
        s: &super::raw::Server,
        vip: &str,
        networks: &[Network],
        taken: &HashMap<Ipv4Addr, String>,
    ) {
        let vpath = format!("{cpath}.keepalived.vip");
        if !s.components.iter().any(|x| x.name() == "haproxy") {
            let msg = format!("server `{sname}`: keepalived moves the site's address between load balancers, and this server runs no `haproxy`");
            self.err(cpath, msg, None);
        }
        let Ok(vip) = vip.parse::<Ipv4Addr>() else {
            let msg = format!("server `{sname}`: virtual IP `{vip}` is not an IPv4 address");
            self.err(&vpath, msg, None);
            return;
        };
        let mine: Vec<&Network> = s
            .networks
            .keys()
            .filter_map(|n| networks.iter().find(|x| &x.name == n))
            .collect();
        let Some(net) = mine.iter().find(|n| n.subnet.contains(vip)) else {
            let nets: Vec<String> = mine
                .iter()
                .map(|n| format!("{} {}", n.name, n.subnet))
                .collect();
            self.err(
                &vpath,
                format!(
                    "server `{sname}`: virtual IP {vip} is outside its networks ({})",
                    nets.join(", ")
                ),
                Some("the virtual IP must be a free address of a network the server joins".into()),
            );
            return;
        };
        let subnet = net.subnet;
        if vip == subnet.base || vip == subnet.broadcast() || vip == subnet.gateway() {
            let msg = format!("server `{sname}`: virtual IP {vip} is the network, gateway or broadcast address of `{}`", net.name);
            self.err(&vpath, msg, None);
        } else if let Some(owner) = taken.get(&vip) {
            let msg = format!("server `{sname}`: virtual IP {vip} is the address of `{owner}`");
            self.err(&vpath, msg, None);
        }
    }

    /// Replication server ids written in the stack are unique.
    fn server_ids(&mut self) {
        let mut seen: HashMap<u32, &str> = HashMap::new();
        for (sname, s) in &self.raw.servers {
            for (i, c) in s.components.iter().enumerate() {
                let ComponentSpec::Mariadb(o) = c else {
                    continue;
                };
                let Some(id) = o.server_id else { continue };
                if let Some(other) = seen.insert(id, sname) {
                    let msg = format!("server `{sname}`: server id {id} is also `{other}`'s; replication needs each database's id to be its own");
                    let path = format!("servers.{sname}.components[{i}].mariadb.server-id");
                    self.err(&path, msg, None);
                }
            }
        }
    }

    /// One primary DNS server (the others name it), one Prometheus; a
    /// client needs a DNS server.
    fn singletons(&mut self, servers: &[Server]) {
        for kind in ["dns", "prometheus"] {
            let holders: Vec<&Server> = servers
                .iter()
                .filter(|s| s.has(kind))
                .filter(|s| {
                    s.get::<crate::components::dns::Options>()
                        .is_none_or(|o| o.primary.is_none())
                })
                .collect();
            if let [first, second, ..] = holders[..] {
                let i = second
                    .components
                    .iter()
                    .position(|x| x.name() == kind)
                    .unwrap_or(0);
                let path = format!("servers.{}.components[{i}]", second.name);
                match kind {
                    "dns" => self.err(
                        &path,
                        format!(
                            "only one DNS server may hold the zone; `{}` already does",
                            first.name
                        ),
                        Some(format!(
                            "make this one a secondary, which takes the zone from it: `dns: {{ primary: {} }}`",
                            first.name
                        )),
                    ),
                    _ => self.err(
                        &path,
                        format!(
                            "only one server may run `{kind}`; `{}` already does",
                            first.name
                        ),
                        None,
                    ),
                }
            }
        }
        let has_dns = servers.iter().any(|s| s.has("dns"));
        if let Some(client) = servers.iter().find(|s| s.has("client")) {
            if !has_dns {
                let i = client
                    .components
                    .iter()
                    .position(|x| x.name() == "client")
                    .unwrap_or(0);
                self.err(&format!("servers.{}.components[{i}]", client.name), format!("client `{}` resolves the site through the lab's DNS server, and no server runs `dns`", client.name), Some("add a server with the `dns` component".into()));
            }
        }
        if !self.raw.dns.records.is_empty() && !has_dns {
            self.err(
                "dns",
                "the stack declares DNS records, and no server runs `dns` to serve them",
                Some("add the `dns` component to a server".into()),
            );
        }
    }

    fn tls(&mut self, servers: &[Server]) {
        let Some(tls) = &self.raw.tls else { return };
        let domain = &self.raw.domain;
        if tls.names.is_empty() {
            self.err(
                "tls.names",
                "`tls.names` lists no name",
                Some(format!("e.g. [www.{domain}, {domain}]")),
            );
        }
        for (i, n) in tls.names.iter().enumerate() {
            if n != domain && !n.ends_with(&format!(".{domain}")) {
                let msg = format!("`{n}` is not in the domain {domain}");
                self.err(&format!("tls.names[{i}]"), msg, None);
            } else if let Some(p) = dns_name_problem(n, "") {
                let msg = format!("`{n}` is not a host name: {p}");
                self.err(&format!("tls.names[{i}]"), msg, None);
            }
        }
        if tls.reencrypt && !servers.iter().any(|s| s.has("haproxy")) {
            self.err("tls.reencrypt", "`reencrypt` re-encrypts from the load balancer to the web servers, and this stack has no load balancer", None);
        }
    }

    fn firewall(&mut self) {
        let raw = self.raw;
        for (i, who) in raw.firewall.ssh_from.iter().enumerate() {
            if !raw.servers.contains_key(who) {
                let hint = self.unknown_server_hint(who);
                let msg = format!("firewall: `{who}` is not a server of this stack");
                self.err(&format!("firewall.ssh-from[{i}]"), msg, hint);
            }
        }
        for (i, r) in raw.firewall.allow.iter().enumerate() {
            let rpath = format!("firewall.allow[{i}]");
            if r.from != "any" && !raw.servers.contains_key(&r.from) {
                let hint = self.unknown_server_hint(&r.from);
                let msg = format!(
                    "firewall rule: `{}` is not a server of this stack (or `any`)",
                    r.from
                );
                self.err(&format!("{rpath}.from"), msg, hint);
            }
            match raw.servers.get(&r.to) {
                None => {
                    let hint = self.unknown_server_hint(&r.to);
                    let msg = format!("firewall rule: `{}` is not a server of this stack", r.to);
                    self.err(&format!("{rpath}.to"), msg, hint);
                }
                Some(s) if !s.components.iter().any(|x| x.name() == "ufw") => {
                    let msg = format!(
                        "firewall rule: `{}` has no firewall (`ufw` component) to open",
                        r.to
                    );
                    self.err(&format!("{rpath}.to"), msg, None);
                }
                _ => {}
            }
            if r.port == 0 && r.proto != Proto::Vrrp {
                let msg = format!(
                    "firewall rule: a {} rule needs a `port`: {}",
                    r.proto.as_str(),
                    super::de::PORT.allowed()
                );
                self.err(&rpath, msg, None);
            }
        }
    }
}

pub fn validate(raw: StackFile, default_name: String, locator: &Locator) -> Result<Stack> {
    let mut c = Checker {
        locator,
        raw: &raw,
        diags: Vec::new(),
        server_names: raw.servers.keys().cloned().collect(),
    };
    let name = raw.name.clone().unwrap_or(default_name);
    c.stack_name(&name, raw.name.is_some());
    c.domain();
    let networks = c.networks();
    let servers = c.servers(&networks);
    c.server_ids();
    c.singletons(&servers);
    super::zone::check(&mut c.diags, &raw, &networks, locator);
    c.tls(&servers);
    c.firewall();
    if !c.diags.is_empty() {
        return Err(Error::Stack(c.diags));
    }
    let stack = Stack {
        origin: name.clone(),
        name,
        description: raw.description.clone().unwrap_or_default(),
        domain: raw.domain.clone(),
        networks,
        servers,
        dns: raw.dns.clone(),
        tls: raw.tls.clone(),
        firewall: raw.firewall.clone(),
    };
    // What one server says of another, then the flows that follow from it.
    super::references::check(&mut c, &stack);
    if c.diags.is_empty() {
        super::references::flows(&mut c, &stack);
    }
    if !c.diags.is_empty() {
        return Err(Error::Stack(c.diags));
    }
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds_or_minutes() {
        assert!(valid_duration("5s") && valid_duration("1m"));
        assert!(!valid_duration("0s") && !valid_duration("5") && !valid_duration("1h"));
    }
}

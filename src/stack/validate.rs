//! Semantic validation: turns a deserialized stack file into a [`Stack`],
//! or into diagnostics pointing at every line that is wrong.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::raw::{RecordType, StackFile};
use super::source::Locator;
use super::{Network, Server, Stack, Subnet};
use crate::components::ComponentSpec;
use crate::error::{did_you_mean, Diagnostic, Error, Result};

struct Checker<'a> {
    locator: &'a Locator,
    diags: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(message).at(self.locator.value(path));
        d.hint = hint;
        self.diags.push(d);
    }

    fn key_err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(message).at(self.locator.key(path));
        d.hint = hint;
        self.diags.push(d);
    }
}

/// A DNS label / host name: lowercase letters, digits and `-`, not at the ends.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Prometheus duration as the stacks use them: a number of seconds or minutes.
fn valid_duration(s: &str) -> bool {
    s.strip_suffix(['s', 'm'])
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
}

fn valid_domain(s: &str) -> bool {
    s.split('.').count() >= 2 && s.split('.').all(|l| valid_name(l) && l.len() <= 63)
}

fn unknown_server_hint(name: &str, servers: &[String]) -> Option<String> {
    Some(
        match did_you_mean(name, servers.iter().map(String::as_str)) {
            Some(s) => format!(
                "did you mean `{s}`? servers of this stack: {}",
                servers.join(", ")
            ),
            None => format!("servers of this stack: {}", servers.join(", ")),
        },
    )
}

pub fn validate(raw: StackFile, default_name: String, locator: &Locator) -> Result<Stack> {
    let mut c = Checker {
        locator,
        diags: Vec::new(),
    };
    let name = raw.name.clone().unwrap_or(default_name);
    if !valid_name(&name) {
        c.err(
            "name",
            format!("stack name `{name}` is not a valid name"),
            Some(
                "use lowercase letters, digits and `-` (it prefixes container and network names)"
                    .into(),
            ),
        );
    }
    if !valid_domain(&raw.domain) {
        c.err(
            "domain",
            format!("`{}` is not a valid domain name", raw.domain),
            Some("e.g. `foobar.com`".into()),
        );
    }

    // Networks.
    let mut networks: Vec<Network> = Vec::new();
    for (n, net) in &raw.networks {
        let path = format!("networks.{n}");
        if !valid_name(n) {
            c.key_err(
                &path,
                format!("network name `{n}` is not valid"),
                Some("use lowercase letters, digits and `-`".into()),
            );
        }
        match net.subnet.parse::<Subnet>() {
            Ok(subnet) => {
                if let Some(other) = networks.iter().find(|o| o.subnet.overlaps(subnet)) {
                    c.err(
                        &format!("{path}.subnet"),
                        format!(
                            "network `{n}`: subnet {subnet} overlaps network `{}` ({})",
                            other.name, other.subnet
                        ),
                        None,
                    );
                }
                networks.push(Network {
                    name: n.clone(),
                    subnet,
                    public: net.public,
                });
            }
            Err(e) => c.err(
                &format!("{path}.subnet"),
                format!("network `{n}`: {e}"),
                None,
            ),
        }
    }
    let net_names: Vec<String> = raw.networks.keys().cloned().collect();

    // Servers.
    let server_names: Vec<String> = raw.servers.keys().cloned().collect();
    let mut servers: Vec<Server> = Vec::new();
    let mut taken: HashMap<Ipv4Addr, String> = HashMap::new();
    if raw.servers.is_empty() {
        c.err("servers", "the stack has no servers", None);
    }
    for (sname, s) in &raw.servers {
        let spath = format!("servers.{sname}");
        if !valid_name(sname) {
            c.key_err(
                &spath,
                format!("server name `{sname}` is not a valid host name"),
                Some("use lowercase letters, digits and `-`, e.g. `web-01`".into()),
            );
        }
        if s.networks.is_empty() {
            c.err(
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
                    let hint = match did_you_mean(net, net_names.iter().map(String::as_str)) {
                        Some(s) => format!(
                            "did you mean `{s}`? networks of this stack: {}",
                            net_names.join(", ")
                        ),
                        None => format!("networks of this stack: {}", net_names.join(", ")),
                    };
                    c.key_err(
                        &apath,
                        format!("server `{sname}`: unknown network `{net}`"),
                        Some(hint),
                    );
                }
                continue;
            };
            let subnet = network.subnet;
            let ip = match addr {
                super::raw::AddrSpec::Addr(a) => {
                    match a.parse::<Ipv4Addr>() {
                        Ok(ip) => ip,
                        Err(_) => {
                            c.err(&apath, format!("server `{sname}`: `{a}` is not an IPv4 address or a host number"), None);
                            continue;
                        }
                    }
                }
                super::raw::AddrSpec::Host(n) => {
                    let size = u32::from(subnet.broadcast()) - u32::from(subnet.base);
                    if *n >= size {
                        c.err(&apath, format!("server `{sname}`: host number {n} does not fit in `{net}` ({subnet})"), None);
                        continue;
                    }
                    Ipv4Addr::from(u32::from(subnet.base) + n)
                }
            };
            if !subnet.contains(ip) {
                c.err(
                    &apath,
                    format!("server `{sname}`: address {ip} is outside network `{net}` ({subnet})"),
                    None,
                );
                continue;
            }
            if ip == subnet.base || ip == subnet.broadcast() || ip == subnet.gateway() {
                c.err(
                    &apath,
                    format!("server `{sname}`: {ip} is the network, gateway or broadcast address of `{net}`"),
                    Some(format!("pick a host address from {} to {}", Ipv4Addr::from(u32::from(subnet.gateway()) + 1), Ipv4Addr::from(u32::from(subnet.broadcast()) - 1))),
                );
                continue;
            }
            if let Some(other) = taken.get(&ip) {
                c.err(
                    &apath,
                    format!("server `{sname}`: address {ip} is already used by `{other}`"),
                    None,
                );
                continue;
            }
            taken.insert(ip, sname.clone());
            addrs.push((net.clone(), ip));
        }

        // Components: each kind once, ports not shared.
        if s.components.is_empty() {
            c.err(
                &format!("{spath}.components"),
                format!("server `{sname}` has no components"),
                Some(format!(
                    "known components: {}",
                    crate::components::kind_names().join(", ")
                )),
            );
        }
        let mut ports: HashMap<(u16, &'static str), &'static str> = HashMap::new();
        let tls = raw.tls.is_some();
        for (i, comp) in s.components.iter().enumerate() {
            let cpath = format!("{spath}.components[{i}]");
            if s.components[..i].iter().any(|o| o.name() == comp.name()) {
                c.err(
                    &cpath,
                    format!(
                        "server `{sname}`: component `{}` is listed twice",
                        comp.name()
                    ),
                    None,
                );
                continue;
            }
            let mut my_ports = comp.ports(tls);
            if let ComponentSpec::MonitoringClient(_) = comp {
                my_ports.push((
                    crate::topology::NODE_EXPORTER_PORT,
                    crate::stack::raw::Proto::Tcp,
                ));
                if s.components.iter().any(|x| x.name() == "nginx") {
                    my_ports.push((
                        crate::topology::NGINX_EXPORTER_PORT,
                        crate::stack::raw::Proto::Tcp,
                    ));
                }
                if s.components.iter().any(|x| x.name() == "mariadb") {
                    my_ports.push((
                        crate::topology::MYSQLD_EXPORTER_PORT,
                        crate::stack::raw::Proto::Tcp,
                    ));
                }
            }
            for (port, proto) in my_ports {
                if let Some(other) = ports.insert((port, proto.as_str()), comp.name()) {
                    if other != comp.name() {
                        c.err(
                            &cpath,
                            format!("server `{sname}`: `{other}` and `{}` both listen on port {port}/{}", comp.name(), proto.as_str()),
                            Some("give one of them another port (e.g. `port: 8081`), or move it to another server".into()),
                        );
                    }
                }
            }
            match comp {
                ComponentSpec::Keepalived(o) => match o.vip.parse::<Ipv4Addr>() {
                    Err(_) => c.err(
                        &format!("{cpath}.keepalived.vip"),
                        format!(
                            "server `{sname}`: virtual IP `{}` is not an IPv4 address",
                            o.vip
                        ),
                        None,
                    ),
                    Ok(vip) => {
                        let mine: Vec<&Network> = s
                            .networks
                            .keys()
                            .filter_map(|n| networks.iter().find(|x| &x.name == n))
                            .collect();
                        if !mine.iter().any(|n| n.subnet.contains(vip)) {
                            let nets: Vec<String> = mine
                                .iter()
                                .map(|n| format!("{} {}", n.name, n.subnet))
                                .collect();
                            c.err(
                                &format!("{cpath}.keepalived.vip"),
                                format!("server `{sname}`: virtual IP {vip} is outside its networks ({})", nets.join(", ")),
                                Some("the virtual IP must be a free address of a network the server joins".into()),
                            );
                        } else if let Some(owner) = taken.get(&vip) {
                            c.err(&format!("{cpath}.keepalived.vip"), format!("server `{sname}`: virtual IP {vip} is the address of `{owner}`"), None);
                        }
                        if !s.components.iter().any(|x| x.name() == "haproxy") {
                            c.err(&cpath, format!("server `{sname}`: keepalived moves the site's address between load balancers, and this server runs no `haproxy`"), None);
                        }
                        if o.advert_interval <= 0.0 || o.advert_interval > 255.0 {
                            c.err(
                                &format!("{cpath}.keepalived.advert-interval"),
                                "advert interval must be between 0.01 and 255 seconds",
                                None,
                            );
                        }
                    }
                },
                ComponentSpec::Prometheus(o) if !valid_duration(&o.scrape_interval) => {
                    c.err(
                        &format!("{cpath}.prometheus.scrape-interval"),
                        format!(
                            "`{}` is not a duration like `5s` or `1m`",
                            o.scrape_interval
                        ),
                        None,
                    );
                }
                ComponentSpec::App(o) if o.workers == 0 => {
                    c.err(
                        &format!("{cpath}.app.workers"),
                        "an application server needs at least one worker",
                        None,
                    );
                }
                _ => {}
            }
        }
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

    // Singletons of the lab.
    for kind in ["dns", "prometheus"] {
        let holders: Vec<&Server> = servers.iter().filter(|s| s.has(kind)).collect();
        if holders.len() > 1 {
            let second = holders[1];
            let i = second
                .components
                .iter()
                .position(|x| x.name() == kind)
                .unwrap_or(0);
            c.err(
                &format!("servers.{}.components[{i}]", second.name),
                format!(
                    "only one server may run `{kind}`; `{}` already does",
                    holders[0].name
                ),
                None,
            );
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
            c.err(&format!("servers.{}.components[{i}]", client.name), format!("client `{}` resolves the site through the lab's DNS server, and no server runs `dns`", client.name), Some("add a server with the `dns` component".into()));
        }
    }

    // DNS records.
    for (i, r) in raw.dns.records.iter().enumerate() {
        let rpath = format!("dns.records[{i}]");
        if r.name != "@" && !r.name.split('.').all(valid_name) {
            c.err(
                &format!("{rpath}.name"),
                format!("record name `{}` is not valid", r.name),
                Some("a name in the zone (`www`) or `@` for the domain itself".into()),
            );
        }
        match r.kind {
            RecordType::A => {
                if raw.servers.contains_key(&r.value) {
                    continue;
                }
                match r.value.parse::<Ipv4Addr>() {
                    Ok(ip) if networks.iter().any(|n| n.subnet.contains(ip)) => {}
                    Ok(ip) => c.err(&format!("{rpath}.value"), format!("record `{}`: {ip} is in none of the stack's networks", r.name), Some("a lab record points at a server or a virtual IP of the lab".into())),
                    Err(_) => c.err(&format!("{rpath}.value"), format!("record `{}`: `{}` is neither a server of this stack nor an IPv4 address", r.name, r.value), unknown_server_hint(&r.value, &server_names)),
                }
            }
            RecordType::CNAME | RecordType::MX => {
                let v = r.value.trim_end_matches('.');
                if v.is_empty() || !v.split('.').all(valid_name) {
                    c.err(
                        &format!("{rpath}.value"),
                        format!("record `{}`: `{}` is not a host name", r.name, r.value),
                        None,
                    );
                }
                if r.kind == RecordType::CNAME && r.name == "@" {
                    c.err(
                        &format!("{rpath}.name"),
                        "the domain itself (`@`) cannot be a CNAME: it has SOA and NS records",
                        Some("use an A record for `@`".into()),
                    );
                }
            }
            RecordType::TXT => {}
        }
        if r.priority.is_some() && r.kind != RecordType::MX {
            c.err(
                &format!("{rpath}.priority"),
                "only MX records have a priority",
                None,
            );
        }
    }
    if !raw.dns.records.is_empty() && !has_dns {
        c.err(
            "dns",
            "the stack declares DNS records, and no server runs `dns` to serve them",
            Some("add the `dns` component to a server".into()),
        );
    }

    // TLS.
    if let Some(tls) = &raw.tls {
        if tls.names.is_empty() {
            c.err(
                "tls.names",
                "`tls.names` lists no name",
                Some(format!("e.g. [www.{0}, {0}]", raw.domain)),
            );
        }
        for (i, n) in tls.names.iter().enumerate() {
            if n != &raw.domain && !n.ends_with(&format!(".{}", raw.domain)) {
                c.err(
                    &format!("tls.names[{i}]"),
                    format!("`{n}` is not in the domain {}", raw.domain),
                    None,
                );
            }
        }
        if tls.reencrypt && !servers.iter().any(|s| s.has("haproxy")) {
            c.err("tls.reencrypt", "`reencrypt` re-encrypts from the load balancer to the web servers, and this stack has no load balancer", None);
        }
    }

    // Firewall policy.
    for (i, who) in raw.firewall.ssh_from.iter().enumerate() {
        if !raw.servers.contains_key(who) {
            c.err(
                &format!("firewall.ssh-from[{i}]"),
                format!("firewall: `{who}` is not a server of this stack"),
                unknown_server_hint(who, &server_names),
            );
        }
    }
    for (i, r) in raw.firewall.allow.iter().enumerate() {
        let rpath = format!("firewall.allow[{i}]");
        if r.from != "any" && !raw.servers.contains_key(&r.from) {
            c.err(
                &format!("{rpath}.from"),
                format!(
                    "firewall rule: `{}` is not a server of this stack (or `any`)",
                    r.from
                ),
                unknown_server_hint(&r.from, &server_names),
            );
        }
        match raw.servers.get(&r.to) {
            None => c.err(
                &format!("{rpath}.to"),
                format!("firewall rule: `{}` is not a server of this stack", r.to),
                unknown_server_hint(&r.to, &server_names),
            ),
            Some(s) if !s.components.iter().any(|x| x.name() == "ufw") => c.err(
                &format!("{rpath}.to"),
                format!(
                    "firewall rule: `{}` has no firewall (`ufw` component) to open",
                    r.to
                ),
                None,
            ),
            _ => {}
        }
        if r.port == 0 && r.proto != crate::stack::raw::Proto::Vrrp {
            c.err(&format!("{rpath}.port"), "port 0 is not a port", None);
        }
    }

    if !c.diags.is_empty() {
        return Err(Error::Stack(c.diags));
    }
    Ok(Stack {
        name,
        description: raw.description.unwrap_or_default(),
        domain: raw.domain,
        networks,
        servers,
        dns: raw.dns,
        tls: raw.tls,
        firewall: raw.firewall,
    })
}

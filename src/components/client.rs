//! The user's computer: resolves the site through the lab's DNS server and
//! trusts the lab's certificate authority, so `curl https://www.foobar.com/`
//! works from it the way a browser would.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Component, Kind};
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::When;
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::topology::{Node, Role, Topology};

pub const KIND: Kind = Kind {
    name: "client",
    memory_mb: 0,
    summary: "the user's computer: browses the site through the lab's DNS",
    packages: &["curl", "bind9-dnsutils", "ca-certificates"],
    templates: &[],
    habits: &[],
};

pub const CA_PATH: &str = "/usr/local/share/ca-certificates/infractl-lab-ca.crt";

/// Adds the lab CA to the system bundle, as `update-ca-certificates` would
/// (which also rebuilds every hash link: seconds of CPU on each new client).
const TRUST_CA: &str = "b=/etc/ssl/certs/ca-certificates.crt; [ -f $b.orig ] || cp $b $b.orig; cat $b.orig /usr/local/share/ca-certificates/infractl-lab-ca.crt > $b.new && mv $b.new $b";

/// Options of the `client` component.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ClientOptions")]
pub struct Options {}

impl Component for Options {
    fn shape(&self, _stack: &Stack, node: &mut Node) {
        node.roles.push(Role::Client);
    }


    fn explain(&self, topo: &Topology, _node: &Node) -> String {
        let which = match crate::components::dns::servers(topo).as_slice() {
            [] => return "the user's computer: browses the site (here with curl)".into(),
            [one] => format!("the DNS server {one}"),
            many => format!(
                "the DNS servers {} (the next when one does not answer)",
                crate::words::and_list(many)
            ),
        };
        format!(
            "the user's computer: finds the site through {which} and browses it (here with curl)"
        )
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let url = format!("{}://{}", topo.site_scheme(), topo.site_host());
        Some(Part::new(Tier::Outside, "browser".into(), vec![url], false))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    if let Some(tls) = &ctx.secrets.tls {
        if ctx.topo.tls() {
            out.file(CA_PATH, 0o644, tls.ca_cert.clone());
            out.step("trust the lab CA", When::BeforeStart, &[CA_PATH], TRUST_CA);
        }
    }
    Ok(())
}

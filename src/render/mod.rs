//! Rendering: topology + secrets -> plan, through Tera templates embedded in
//! the binary.
//!
//! One context builder per component kind (in `components/`); this module
//! holds the Tera environment, the per-server output being built, and the
//! walk over servers and their components.

pub mod plan;
pub mod supervise;

use std::cell::RefCell;
use std::collections::BTreeSet;

use include_dir::{include_dir, Dir};
use serde_json::Value;
use tera::Tera;

use crate::components::{self, BASE_PACKAGES};
use crate::error::{Error, Result};
use crate::lab::state::Secrets;
use crate::render::plan::{
    Attachment, Check, FileSpec, NetworkPlan, Plan, Probe, ServerPlan, Service, Step, When,
};
use crate::topology::{Node, Role, Topology};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The Tera environment with every template of `templates/`.
pub struct Renderer {
    tera: Tera,
    /// Names of the templates rendered so far.
    rendered: RefCell<BTreeSet<String>>,
}

impl Renderer {
    pub fn new() -> Result<Self> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        let mut files = Vec::new();
        collect(&TEMPLATES, &mut files);
        tera.add_raw_templates(files)
            .map_err(|e| Error::failure(format!("template error: {}", chain(&e))))?;
        Ok(Renderer {
            tera,
            rendered: RefCell::default(),
        })
    }

    /// Names of every embedded template.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tera.get_template_names().map(str::to_string).collect();
        v.sort();
        v
    }

    /// Names of the templates rendered so far, sorted.
    pub fn rendered(&self) -> Vec<String> {
        self.rendered.borrow().iter().cloned().collect()
    }

    pub fn render(&self, template: &str, ctx: &Value) -> Result<String> {
        self.rendered.borrow_mut().insert(template.to_string());
        let ctx = tera::Context::from_value(ctx.clone())
            .map_err(|e| Error::failure(format!("template context for {template}: {e}")))?;
        self.tera
            .render(template, &ctx)
            .map_err(|e| Error::failure(format!("rendering {template}: {}", chain(&e))))
    }
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.push((f.path().to_string_lossy().into_owned(), text));
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// What a component renders into: the server's part of the plan.
pub struct Out<'a> {
    pub plan: ServerPlan,
    renderer: &'a Renderer,
}

impl Out<'_> {
    /// Renders `template` with `ctx` into the file at `path`.
    pub fn template(&mut self, path: &str, mode: u32, template: &str, ctx: Value) -> Result<()> {
        let text = self.renderer.render(template, &ctx)?;
        self.file(path, mode, text);
        Ok(())
    }

    pub fn file(&mut self, path: &str, mode: u32, content: impl Into<Vec<u8>>) {
        self.push(path, mode, None, false, content.into());
    }

    /// A file holding a password or key: mode as given (0600/0640), owner
    /// as given, flagged secret.
    pub fn secret(
        &mut self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        content: impl Into<Vec<u8>>,
    ) {
        self.push(path, mode, owner, true, content.into());
    }

    /// Renders a template into a secret file.
    pub fn secret_template(
        &mut self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        template: &str,
        ctx: Value,
    ) -> Result<()> {
        let text = self.renderer.render(template, &ctx)?;
        self.secret(path, mode, owner, text);
        Ok(())
    }

    fn push(&mut self, path: &str, mode: u32, owner: Option<&str>, secret: bool, content: Vec<u8>) {
        let spec = FileSpec {
            path: path.to_string(),
            mode,
            owner: owner.map(str::to_string),
            sha256: crate::render::plan::sha256_hex(&content),
            secret,
            content,
        };
        match self.plan.files.iter_mut().find(|f| f.path == path) {
            Some(f) => *f = spec,
            None => self.plan.files.push(spec),
        }
    }

    pub fn service(&mut self, s: Service) {
        self.plan.services.push(s);
    }

    pub fn step(&mut self, name: &str, when: When, inputs: &[&str], run: impl Into<String>) {
        self.plan.setup.push(Step {
            name: name.to_string(),
            when,
            run: run.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
        });
    }

    pub fn probe(&mut self, service: &str, command: impl Into<String>, expect: impl Into<String>) {
        self.plan.probes.push(Probe {
            service: service.to_string(),
            command: command.into(),
            expect: expect.into(),
        });
    }

    pub fn check(&mut self, program: &str, file: &str, command: impl Into<String>) {
        self.plan.checks.push(Check {
            program: program.to_string(),
            file: file.to_string(),
            command: command.into(),
        });
    }

    /// Keeps the directory `path` across the server's recreation (see
    /// [`crate::render::plan::Keep`]).
    pub fn keep(&mut self, keep: crate::render::plan::Keep) {
        self.plan.keeps.retain(|k| k.path != keep.path);
        self.plan.keeps.push(keep);
    }

    pub fn capability(&mut self, cap: &str) {
        if !self.plan.capabilities.iter().any(|c| c == cap) {
            self.plan.capabilities.push(cap.to_string());
        }
    }
}

/// What every component's render function sees.
pub struct Ctx<'a> {
    pub topo: &'a Topology,
    pub node: &'a Node,
    pub secrets: &'a Secrets,
}

impl Ctx<'_> {
    pub fn name(&self) -> &str {
        &self.node.name
    }

    pub fn domain(&self) -> &str {
        &self.topo.stack.domain
    }
}

/// Renders the whole plan of a stack.
pub fn plan(topo: &Topology, secrets: &Secrets, image: &str) -> Result<Plan> {
    plan_with(&Renderer::new()?, topo, secrets, image)
}

/// Renders the whole plan of a stack with `renderer`.
pub fn plan_with(
    renderer: &Renderer,
    topo: &Topology,
    secrets: &Secrets,
    image: &str,
) -> Result<Plan> {
    let mut servers = Vec::new();
    for node in &topo.nodes {
        servers.push(server_plan(renderer, topo, node, secrets)?);
    }
    let mut plan = Plan {
        stack: topo.stack.name.clone(),
        origin: topo.stack.origin.clone(),
        image: image.to_string(),
        domain: topo.stack.domain.clone(),
        networks: topo
            .stack
            .networks
            .iter()
            .map(|n| NetworkPlan {
                name: n.name.clone(),
                subnet: n.subnet.to_string(),
                gateway: n.subnet.gateway().to_string(),
            })
            .collect(),
        servers,
        order: topo.stages(),
        rolling: topo.cluster().to_vec(),
        hash: String::new(),
    };
    plan.seal();
    Ok(plan)
}

/// The plan of one server: what it is, then what each of its components
/// renders, then the packages they need.
fn server_plan(
    renderer: &Renderer,
    topo: &Topology,
    node: &Node,
    secrets: &Secrets,
) -> Result<ServerPlan> {
    let server = topo.server(&node.name);
    let mut out = Out {
        plan: ServerPlan::new(&node.name),
        renderer,
    };
    describe(topo, node, &mut out.plan);
    let ctx = Ctx {
        topo,
        node,
        secrets,
    };
    components::common::render(&ctx, &mut out)?;
    for c in &server.components {
        c.component().render(&ctx, &mut out)?;
    }
    out.plan.packages = packages(&server.components);
    out.plan.seal();
    Ok(out.plan)
}

/// What a server is: its roles, components, networks and resolvers.
fn describe(topo: &Topology, node: &Node, plan: &mut ServerPlan) {
    let server = topo.server(&node.name);
    // A Galera node takes writes as a primary does, but is one of
    // several equals: shown as such, not as one of three primaries.
    plan.roles = node
        .roles
        .iter()
        .map(|r| match r {
            Role::DbPrimary if !node.cluster.is_empty() => "db-galera".to_string(),
            r => r.as_str().to_string(),
        })
        .collect();
    plan.components = server
        .components
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    plan.networks = server
        .addrs
        .iter()
        .map(|(n, a)| Attachment {
            network: n.clone(),
            address: a.to_string(),
        })
        .collect();
    plan.resolvers = components::dns::servers(topo)
        .into_iter()
        .filter(|d| crate::topology::shared_network(&topo.stack, server, topo.server(d)).is_some())
        .map(|d| topo.addr(&node.name, d).to_string())
        .collect();
}

/// The Debian packages a server needs: the base, each component's, and
/// its exporters' programs, sorted.
fn packages(components: &[components::ComponentSpec]) -> Vec<String> {
    let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|s| s.to_string()).collect();
    for c in components {
        packages.extend(c.kind().packages.iter().map(|s| s.to_string()));
    }
    let exporters = components::monitoring::exporters(components);
    packages.extend(
        exporters
            .iter()
            .filter_map(|e| Some(e.program?.package.to_string())),
    );
    packages.sort();
    packages.dedup();
    packages
}

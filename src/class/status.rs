//! `class status`: each student's lab where it is, how many of its hosts
//! run, and where its site is published; and the engines that did not
//! answer.

use std::path::Path;

use super::engines::{self, Site};
use super::up::StudentLab;
use crate::driver::{Engine, Host};
use crate::error::Result;
use crate::ops::Global;

/// The class as it stands.
pub struct ClassStatus {
    /// Each student's lab, in the class's order.
    pub labs: Vec<StudentLab>,
    /// Each engine that did not answer, a line (`engine URL: why`).
    pub silent: Vec<String>,
}

impl ClassStatus {
    /// Whether every lab is up.
    pub fn all_up(&self) -> bool {
        self.labs.iter().all(|l| l.state == "up")
    }
}

/// The class of `file` as it stands on its engines.
pub async fn status(file: &Path, global: &Global) -> Result<ClassStatus> {
    let class = super::load(file)?;
    // Every lab runs the class's stack: where its site is, asked once.
    let topo = crate::topology::Topology::build(class.load_stack()?);
    let sites = engines::reach(&class, global).await;
    let mut labs = Vec::new();
    for student in &class.students {
        let name = class.lab(student);
        let site = engines::site_of(&name, &sites, global);
        let (state, url) = match site {
            None => ("absent".to_string(), None),
            Some(site) => lab_on(site, &name, &topo).await,
        };
        labs.push(StudentLab {
            engine: site.map(|s| s.endpoint.to_string()).unwrap_or_default(),
            lab: name,
            state,
            student: student.clone(),
            url,
        });
    }
    Ok(ClassStatus {
        labs,
        silent: sites.iter().filter_map(Site::silence).collect(),
    })
}

/// Lab `lab`'s state on `site`, and its site's address where it is
/// published.
async fn lab_on(
    site: &Site,
    lab: &str,
    topo: &crate::topology::Topology,
) -> (String, Option<String>) {
    let r = match &site.reached {
        Err(_) => return ("unreachable".to_string(), None),
        Ok(r) => r,
    };
    let hosts = r
        .labs
        .iter()
        .find(|l| l.lab == lab)
        .map(|l| l.hosts.as_slice())
        .unwrap_or_default();
    let state = state_of(hosts);
    if hosts.is_empty() {
        return (state, None);
    }
    match published(&*r.engine, lab, topo.site_port()).await {
        Ok(p) => (
            state,
            p.map(|p| crate::ops::site_url(topo, &site.endpoint, p)),
        ),
        Err(e) => (format!("error: {}", e.headline()), None),
    }
}

/// `absent` (no host), `up` (every host running), or `N of M running`.
fn state_of(hosts: &[Host]) -> String {
    let running = hosts.iter().filter(|h| h.running).count();
    match (hosts.len(), running) {
        (0, _) => "absent".to_string(),
        (n, r) if n == r => "up".to_string(),
        (n, r) => format!("{r} of {n} running"),
    }
}

/// The host port lab `lab`'s site is published on at `engine`, if it is.
async fn published(engine: &dyn Engine, lab: &str, port: u16) -> Result<Option<u16>> {
    match engine.driver_by_name(lab) {
        Some(driver) => driver.published(port).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(running: bool) -> Host {
        Host {
            server: "server-01".into(),
            running,
            structure: None,
            handle: String::new(),
            status: String::new(),
            networks: None,
            services: None,
            kept: None,
        }
    }

    #[test]
    fn a_lab_is_up_when_every_host_runs() {
        assert_eq!(state_of(&[]), "absent");
        assert_eq!(state_of(&[host(true), host(true)]), "up");
        assert_eq!(
            state_of(&[host(true), host(false), host(true)]),
            "2 of 3 running"
        );
    }
}

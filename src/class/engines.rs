//! A class's engines, reached: every engine its file lists and every other
//! one its labs' records name, each with what is on it now, or why it did
//! not answer. And where each lab of the class is among them, which every
//! class operation (up, status, down) asks first.

use crate::driver::{DownOptions, Engine, LabOnEngine, Placement};
use crate::error::{Error, Result};
use crate::ops::Global;

use super::Class;

/// One of the class's engines, as reached now.
pub struct Site {
    pub endpoint: Placement,
    /// Listed in the class file (else only a lab's record names it).
    pub listed: bool,
    pub max_labs: Option<u32>,
    /// Connected, with what is on it; or why not.
    pub reached: std::result::Result<Reached, Error>,
}

/// An engine that answered, and what is on it.
pub struct Reached {
    pub engine: Box<dyn Engine>,
    pub labs: Vec<LabOnEngine>,
    /// The subnets of its networks, each with the lab it belongs to.
    pub subnets: Vec<(Option<String>, crate::stack::Subnet)>,
    pub memory_mb: u64,
}

impl Site {
    /// Whether lab `lab` has anything on this engine (which answered).
    pub fn has(&self, lab: &str) -> bool {
        self.reached
            .as_ref()
            .is_ok_and(|r| r.labs.iter().any(|l| l.lab == lab))
    }

    /// The engine's error as one line: `engine URL: why`, when it did not
    /// answer.
    pub fn silence(&self) -> Option<String> {
        self.reached
            .as_ref()
            .err()
            .map(|e| format!("engine {}: {e}", self.endpoint))
    }
}

/// Every engine of the class (and every other engine its labs' records
/// name), reached at once; an engine that does not answer is a line.
pub async fn reach(class: &Class, global: &Global) -> Vec<Site> {
    let mut wanted: Vec<(Placement, bool, Option<u32>)> = class
        .engines
        .iter()
        .map(|e| (e.placement.clone(), true, e.max_labs))
        .collect();
    // A lab stays on the engine it runs on, even one the file no longer lists.
    for lab in class_labs(class, global) {
        if let Some(e) = record_of(&lab, global).and_then(|r| r.engine) {
            if !wanted.iter().any(|(w, _, _)| w.same(&e)) {
                wanted.push((e, false, None));
            }
        }
    }
    futures_util::future::join_all(wanted.into_iter().map(
        |(endpoint, listed, max_labs)| async move {
            let reached = reach_one(&endpoint).await;
            Site {
                endpoint,
                listed,
                max_labs,
                reached,
            }
        },
    ))
    .await
}

/// One engine, with what is on it.
async fn reach_one(endpoint: &Placement) -> Result<Reached> {
    let engine = crate::driver::engine_at(endpoint).await?;
    let labs = engine.labs().await?;
    let subnets = engine.subnets_in_use().await?.unwrap_or_default();
    let memory_mb = engine.memory_mb().await?;
    Ok(Reached {
        engine,
        labs,
        subnets,
        memory_mb,
    })
}

/// The record of lab `lab`, if it has one.
pub fn record_of(lab: &str, global: &Global) -> Option<crate::lab::Record> {
    crate::lab::read(&global.state(lab))
}

/// The labs of the class: each listed student's, and those whose record
/// says they are of the class (students since gone).
pub fn class_labs(class: &Class, global: &Global) -> Vec<String> {
    let mut labs: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    let prefix = format!("{}-", class.name);
    if let Ok(dirs) = std::fs::read_dir(global.root()) {
        let mut more: Vec<String> = dirs
            .filter_map(|d| d.ok()?.file_name().into_string().ok())
            .filter(|l| l.starts_with(&prefix) && !labs.contains(l))
            .filter(|l| {
                record_of(l, global).is_some_and(|r| r.class.as_deref() == Some(&class.name))
            })
            .collect();
        more.sort();
        labs.extend(more);
    }
    labs
}

/// The labs of the class whose students are gone from its file.
pub fn leaving(class: &Class, ours: &[String]) -> Vec<String> {
    let listed: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    ours.iter()
        .filter(|l| !listed.contains(l))
        .cloned()
        .collect()
}

/// Where a lab of the class is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// On this site (which may not have answered).
    On(usize),
    /// Its record names no engine and it is on none that answered: it may
    /// be on one that did not (named here).
    Unknown(String),
    /// On no engine.
    Nowhere,
}

/// Where `lab` is: the engine its record names, else one it has
/// containers on. A lab with no record at all was never made here: on no
/// engine that answered, it is new.
pub fn locate(lab: &str, sites: &[Site], global: &Global) -> Where {
    where_is(lab, record_of(lab, global).map(|r| r.engine), sites)
}

/// Where `lab` is among `sites`, its record saying what `record` says:
/// `None`, no record; `Some(None)`, a record that names no engine.
pub fn where_is(lab: &str, record: Option<Option<Placement>>, sites: &[Site]) -> Where {
    let had_record = record.is_some();
    let recorded = record.flatten();
    let found = match &recorded {
        Some(e) => sites.iter().position(|s| s.endpoint.same(e)),
        None => sites.iter().position(|s| s.has(lab)),
    };
    if let Some(i) = found {
        return Where::On(i);
    }
    let silent: Vec<String> = sites
        .iter()
        .filter(|s| s.reached.is_err())
        .map(|s| s.endpoint.to_string())
        .collect();
    match (had_record, recorded, silent.is_empty()) {
        (true, None, false) => Where::Unknown(silent.join(", ")),
        _ => Where::Nowhere,
    }
}

/// The site lab `lab` is on, if it is on one.
pub fn site_of<'a>(lab: &str, sites: &'a [Site], global: &Global) -> Option<&'a Site> {
    match locate(lab, sites, global) {
        Where::On(i) => Some(&sites[i]),
        _ => None,
    }
}

/// The error of a class none of whose engines answered: the engine's own
/// when there is one (what to try, as for a lab), else each one's line.
pub fn none_answered(mut sites: Vec<Site>, file: &std::path::Path) -> Error {
    if sites.len() == 1 {
        if let Some(Err(e)) = sites.pop().map(|s| s.reached) {
            return e;
        }
    }
    let mut message = "no engine of the class answered".to_string();
    for s in &sites {
        if let Err(e) = &s.reached {
            message.push_str(&format!("\n  {}", e.headline()));
        }
    }
    Error::failure(message).with_hint(format!(
        "are they running, and their ports open to this machine? or list others under `engines:` in {}",
        file.display()
    ))
}

/// Removes every object of lab `lab` from `engine` (where the engine
/// knows a lab by its name); what went.
pub async fn destroy(engine: &dyn Engine, lab: &str) -> Result<crate::driver::Destroyed> {
    match engine.driver_by_name(lab) {
        Some(driver) => driver.destroy(&DownOptions::default()).await,
        None => Ok(Default::default()),
    }
}

/// Removes a lab from its engine, and its state.
pub async fn remove_lab(engine: &dyn Engine, lab: &str, global: &Global) -> Result<()> {
    destroy(engine, lab).await?;
    remove_state(lab, global)
}

/// Deletes a lab's state (a lab on no engine).
pub fn remove_state(lab: &str, global: &Global) -> Result<()> {
    let state = global.state(lab);
    if state.path.exists() {
        fs_err::remove_dir_all(&state.path)
            .map_err(|e| Error::caused(format!("cannot delete the state of lab `{lab}`"), e))?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An engine that answers with nothing but its labs.
    struct Quiet;

    #[async_trait::async_trait]
    impl Engine for Quiet {
        fn placement(&self) -> Option<Placement> {
            None
        }
        fn describe(&self) -> String {
            "quiet".into()
        }
        async fn driver(
            &self,
            _topo: &crate::topology::Topology,
        ) -> Result<Box<dyn crate::driver::Driver>> {
            Err(Error::failure("no driver here"))
        }
    }

    /// The placement of test engine `n`, which no backend knows.
    pub(crate) fn endpoint(n: u8) -> Placement {
        Placement(serde_json::json!({ "test-engine": n }))
    }

    /// A site at `192.0.2.n` that answered with `labs` on it (each with
    /// one host), or did not answer (`None`).
    pub(crate) fn site(n: u8, labs: Option<&[&str]>) -> Site {
        let reached = match labs {
            None => Err(Error::failure(format!("192.0.2.{n} did not answer"))),
            Some(labs) => Ok(Reached {
                engine: Box::new(Quiet),
                labs: labs
                    .iter()
                    .map(|l| LabOnEngine {
                        lab: l.to_string(),
                        stack: "task1".into(),
                        hosts: vec![],
                    })
                    .collect(),
                subnets: vec![],
                memory_mb: 8192,
            }),
        };
        Site {
            endpoint: endpoint(n),
            listed: true,
            max_labs: None,
            reached,
        }
    }

    #[test]
    fn a_lab_is_where_its_record_says_else_where_it_has_hosts() {
        let sites = [
            site(1, Some(&["c-ann"])),
            site(2, Some(&["c-ben"])),
            site(3, None),
        ];
        assert_eq!(
            where_is("c-ben", Some(Some(endpoint(1))), &sites),
            Where::On(0)
        );
        assert_eq!(
            where_is("c-ben", Some(Some(endpoint(3))), &sites),
            Where::On(2)
        );
        assert_eq!(where_is("c-ben", None, &sites), Where::On(1));
        assert_eq!(where_is("c-ben", Some(None), &sites), Where::On(1));
        // Never made here: new, whatever did not answer.
        assert_eq!(where_is("c-cat", None, &sites), Where::Nowhere);
        // Recorded on no engine, on none that answered: perhaps the silent one.
        assert_eq!(
            where_is("c-cat", Some(None), &sites),
            Where::Unknown(endpoint(3).to_string())
        );
        assert_eq!(where_is("c-cat", Some(None), &sites[..2]), Where::Nowhere);
        // Recorded on an engine not reached at all.
        assert_eq!(
            where_is("c-cat", Some(Some(endpoint(9))), &sites),
            Where::Nowhere
        );
    }

    #[test]
    fn the_labs_of_students_gone_are_leaving() {
        let class = crate::class::tests::ann_and_ben();
        let ours = ["c-ann".to_string(), "c-ben".into(), "c-old".into()];
        assert_eq!(leaving(&class, &ours), ["c-old"]);
        assert!(leaving(&class, &ours[..2]).is_empty());
    }

    #[test]
    fn an_engine_that_did_not_answer_says_so_in_a_line() {
        assert_eq!(site(1, Some(&[])).silence(), None);
        assert_eq!(
            site(3, None).silence(),
            Some(format!("engine {}: 192.0.2.3 did not answer", endpoint(3)))
        );
    }
}

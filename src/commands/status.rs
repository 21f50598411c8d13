//! `infractl status`: per server, its container's state, each service's
//! state and its addresses; with no stack, every lab on the engine in
//! use (and with `--all`, on every engine a lab's record names).

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::error::Result;
use crate::ops::status::{LabStatus, ServerStatus};

/// The human table: server, roles, addresses, state, services.
pub fn table(report: &[ServerStatus]) -> String {
    let rows: Vec<[String; 5]> = report
        .iter()
        .map(|r| {
            let services = r
                .services
                .iter()
                .map(|s| {
                    if s.state == "run" {
                        s.name.clone()
                    } else {
                        format!("{}({})", s.name, s.state)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            [
                r.server.clone(),
                r.roles.join(","),
                r.addresses
                    .iter()
                    .map(|a| a.split(' ').nth(1).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(","),
                r.state.clone(),
                services,
            ]
        })
        .collect();
    super::table(["SERVER", "ROLE", "ADDRESS", "STATE", "SERVICES"], &rows)
}

/// `status [STACK]`: the lab's servers, or with no stack every lab on
/// the engine in use (see `every_lab`).
pub async fn run(
    stack: Option<&str>,
    json: bool,
    all: bool,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let Some(stack) = stack else {
        return every_lab(json, all, global, out).await;
    };
    let lab = crate::ops::status::of_lab(stack, global).await?;
    if json {
        emit_json(
            out,
            &super::report::Status {
                healthy: lab.healthy(),
                servers: &lab.servers,
                stack: &lab.plan.stack,
                up: lab.up,
                alerts: lab.alerts.as_deref(),
            },
        )?;
    } else if !lab.up {
        emit(out, &format!("Lab `{}` is not up.\n", lab.plan.stack))?;
    } else {
        emit(out, &lab_text(&lab))?;
    }
    Ok(if !lab.up || lab.healthy() { 0 } else { 1 })
}

/// `status STACK`'s text for a lab that is up: the servers' table, the
/// requests per second, the alerts firing.
fn lab_text(lab: &LabStatus) -> String {
    let mut text = table(&lab.servers);
    let qps: Vec<String> = lab
        .servers
        .iter()
        .filter_map(|r| r.qps.map(|q| format!("{} {q:.2}", r.server)))
        .collect();
    if !qps.is_empty() {
        text.push_str(&format!(
            "\nRequests per second, last minute (Prometheus): {}\n",
            qps.join(", ")
        ));
    }
    match lab.alerts.as_deref() {
        Some([]) => text.push_str("\nNo alert fires.\n"),
        Some(firing) => {
            text.push_str(&format!(
                "\n{} firing (Alertmanager):\n",
                super::count(firing.len(), "alert")
            ));
            text.push_str(&super::alerts::text(&lab.plan.stack, firing));
        }
        None => {}
    }
    text
}

/// `status` with no stack: every lab on the engine in use (the one the
/// options name, else the environment's), and how many labs the records
/// say run on other engines; with `all`, the labs of those engines too.
/// An engine that does not answer is one line, and exit 1 (the one in
/// use, alone, is an error).
async fn every_lab(json: bool, all: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let found = crate::ops::status::labs_on_engines(all, global).await?;
    let in_use = found.in_use;
    let root = global.root();
    let labs: Vec<super::report::Lab> = found
        .labs
        .into_iter()
        .map(|(endpoint, l)| super::report::Lab {
            engine: endpoint.to_string(),
            lab: l.lab,
            running: l.hosts.iter().filter(|h| h.running).count(),
            servers: l.hosts.len(),
            stack: l.stack,
        })
        .collect();
    let unreachable = found.unreachable;
    let elsewhere = match all {
        true => 0,
        false => elsewhere(&crate::lab::records(&root), &in_use, &labs),
    };
    if json {
        emit_json(
            out,
            &super::report::Labs {
                elsewhere,
                engine: in_use.to_string(),
                labs: &labs,
                unreachable: &unreachable,
            },
        )?;
    } else {
        emit(out, &labs_text(&labs, &in_use.to_string(), all, elsewhere))?;
        for line in &unreachable {
            emit(out, &format!("{line}\n"))?;
        }
    }
    Ok(if unreachable.is_empty() { 0 } else { 1 })
}

/// How many labs the records say run on an engine other than `in_use`
/// (and are not among `listed`, found on it).
fn elsewhere(
    records: &[(String, crate::lab::Record)],
    in_use: &crate::driver::Placement,
    listed: &[super::report::Lab],
) -> usize {
    records
        .iter()
        .filter(|(name, r)| {
            r.engine.as_ref().is_some_and(|e| !e.same(in_use))
                && !listed.iter().any(|l| l.lab == *name)
        })
        .count()
}

/// `status`'s table of labs (an ENGINE column with `all`), and the line
/// that says how many others there are.
fn labs_text(labs: &[super::report::Lab], in_use: &str, all: bool, elsewhere: usize) -> String {
    let mut text = if labs.is_empty() {
        format!("No lab is up on the engine {in_use}.\n")
    } else {
        let mut head = vec!["LAB", "STACK", "SERVERS", "RUNNING"];
        if all {
            head.push("ENGINE");
        }
        let rows: Vec<Vec<String>> = labs
            .iter()
            .map(|l| {
                let mut row = vec![
                    l.lab.clone(),
                    l.stack.clone(),
                    l.servers.to_string(),
                    l.running.to_string(),
                ];
                if all {
                    row.push(l.engine.clone());
                }
                row
            })
            .collect();
        let mut t = super::table_of(&head, &rows);
        if !all {
            t.push_str(&format!("\nOn the engine {in_use}.\n"));
        }
        t
    };
    if elsewhere > 0 {
        text.push_str(&format!(
            "{} on other engines (status --all lists them).\n",
            super::count(elsewhere, "lab")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::docker::backend::placement_of;
    use crate::driver::docker::endpoint::Endpoint;

    fn lab(name: &str, engine: &str) -> crate::commands::report::Lab {
        crate::commands::report::Lab {
            engine: engine.into(),
            lab: name.into(),
            running: 5,
            servers: 5,
            stack: "task1".into(),
        }
    }

    #[test]
    fn status_lists_the_engine_in_use_and_counts_the_others() {
        let here = Endpoint::local();
        let there = Endpoint::parse("tcp://192.0.2.7:2375", None).unwrap();
        let record = |e: Option<&Endpoint>| crate::lab::Record {
            engine: e.map(placement_of),
            ..crate::lab::Record::of("task1", &[])
        };
        let records = vec![
            ("a".to_string(), record(Some(&here))),
            ("b".to_string(), record(Some(&there))),
            ("c".to_string(), record(Some(&there))),
            ("d".to_string(), record(None)),
        ];
        let listed = [lab("a", &here.host), lab("x", &here.host)];
        assert_eq!(elsewhere(&records, &placement_of(&here), &listed), 2);
        assert_eq!(elsewhere(&records, &placement_of(&there), &[]), 1);
        assert_eq!(
            labs_text(&listed, &here.host, false, 2),
            "LAB  STACK  SERVERS  RUNNING\na    task1  5        5\nx    task1  5        5\n\nOn the engine unix:///var/run/docker.sock.\n2 labs on other engines (status --all lists them).\n"
        );
        assert!(labs_text(&listed, &here.host, true, 0).starts_with(
            "LAB  STACK  SERVERS  RUNNING  ENGINE\na    task1  5        5        unix://"
        ));
        assert_eq!(
            labs_text(&[], &here.host, false, 1),
            "No lab is up on the engine unix:///var/run/docker.sock.\n1 lab on other engines (status --all lists them).\n"
        );
    }
}

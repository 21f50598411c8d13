//! Many varied stacks, made from the four shipped ones by deterministic
//! pseudo-random mutations (a fixed seed): ports, priorities, addresses,
//! subnets, records, names and their lengths. Each mutant either loads or is
//! refused with a located diagnostic; what loads renders, its YAML passes
//! the JSON Schema, and (with the engine) every rendered file passes the
//! program that reads it — the property "a stack that renders is a stack
//! its programs accept".
//!
//! The engine test checks the distinct servers of the first rendered
//! mutants, 100 at most (about a minute); `INFRACTL_MUTANTS=600` explores
//! 600 mutants with every server checked (about six minutes).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use infractl::stack::source::{self, Resolver, Source};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_yaml::{Mapping, Value};

const SEED: u64 = 0x1f2a_c0de;

/// A shipped stack, resolved by name from `stacks/`.
struct Shipped;

impl Resolver for Shipped {
    fn resolve(&self, reference: &str, _: Option<&Path>) -> infractl::Result<Source> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("stacks")
            .join(format!("{reference}.yaml"));
        Ok(Source {
            name: format!("stacks/{reference}.yaml"),
            text: std::fs::read_to_string(path)
                .map_err(|e| infractl::Error::failure(format!("{reference}: {e}")))?,
            dir: None,
        })
    }
}

/// The shipped stack `name` with its `extends` chain merged in.
fn flattened(name: &str) -> Mapping {
    let src = Shipped.resolve(name, None).unwrap();
    let doc = source::read(src, &Shipped).unwrap();
    let Value::Mapping(mut m) = doc.value else {
        panic!("{name} is a mapping")
    };
    m.remove("extends");
    m
}

fn key(k: &str) -> Value {
    Value::String(k.into())
}

/// A mapping's entry, made a mapping if it was not one.
fn map_at<'a>(m: &'a mut Mapping, k: &str) -> &'a mut Mapping {
    let slot = m.entry(key(k)).or_insert(Value::Mapping(Mapping::new()));
    if !slot.is_mapping() {
        *slot = Value::Mapping(Mapping::new());
    }
    slot.as_mapping_mut().unwrap()
}

fn list_at<'a>(m: &'a mut Mapping, k: &str) -> &'a mut Vec<Value> {
    let slot = m.entry(key(k)).or_insert(Value::Sequence(Vec::new()));
    if !slot.is_sequence() {
        *slot = Value::Sequence(Vec::new());
    }
    slot.as_sequence_mut().unwrap()
}

fn server_names(doc: &Mapping) -> Vec<String> {
    doc.get("servers")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The options of component `kind` on `server`, the component written as
/// `kind: {...}` if it was a bare name; None if the server lacks it.
fn options<'a>(doc: &'a mut Mapping, server: &str, kind: &str) -> Option<&'a mut Mapping> {
    let comps = map_at(map_at(doc, "servers"), server).get_mut("components")?;
    let c = comps.as_sequence_mut()?.iter_mut().find(|c| match c {
        Value::String(s) => s == kind,
        Value::Mapping(m) => m.contains_key(kind),
        _ => false,
    })?;
    if c.is_string() {
        let mut m = Mapping::new();
        m.insert(key(kind), Value::Mapping(Mapping::new()));
        *c = Value::Mapping(m);
    }
    Some(map_at(c.as_mapping_mut().unwrap(), kind))
}

/// (server, kind) pairs of the stack with one of `kinds`.
fn with_kind(doc: &Mapping, kinds: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in server_names(doc) {
        let comps = doc["servers"][name.as_str()]["components"].as_sequence();
        for c in comps.into_iter().flatten() {
            let kind = match c {
                Value::String(s) => s.clone(),
                Value::Mapping(m) => m
                    .keys()
                    .next()
                    .and_then(|k| k.as_str())
                    .unwrap_or("")
                    .into(),
                _ => continue,
            };
            if kinds.contains(&kind.as_str()) {
                out.push((name.clone(), kind));
            }
        }
    }
    out
}

/// Texts a zone file must quote and escape.
const TRICKY_TEXT: &[&str] = &[
    "v=spf1 \"quoted\" -all",
    "back\\slash",
    "semi;colon ; (paren) $ORIGIN @",
    "ünïcödé ✓",
    "tab\there",
    "line\nbreak",
    "{{ not_a_template }} {% raw %}",
];

const NAMES: &[&str] = &[
    "www", "blog", "mail", "shop", "api", "ns", "@", "a-b", "x.y",
];

fn some_name(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => "l".repeat(rng.random_range(60..=66)),
        _ => NAMES.choose(rng).unwrap().to_string(),
    }
}

fn pick<T: Clone>(rng: &mut StdRng, xs: &[T]) -> T {
    xs.choose(rng).unwrap().clone()
}

fn set_port(doc: &mut Mapping, rng: &mut StdRng) {
    let holders = with_kind(doc, &["nginx", "haproxy", "app", "prometheus"]);
    let Some((server, kind)) = holders.choose(rng).cloned() else {
        return;
    };
    let keys: &[&str] = match kind.as_str() {
        "nginx" => &["port", "https-port"],
        "haproxy" => &["port", "https-port", "stats-port"],
        _ => &["port"],
    };
    let k = pick(rng, keys);
    let port = match rng.random_range(0..3) {
        0 => rng.random_range(1..=65535u64),
        _ => pick(
            rng,
            &[
                0, 1, 22, 80, 443, 1023, 3306, 8000, 8080, 8404, 9090, 9100, 65535, 65536,
            ],
        ),
    };
    if let Some(o) = options(doc, &server, &kind) {
        o.insert(key(k), Value::from(port));
    }
}

fn set_option(doc: &mut Mapping, rng: &mut StdRng) {
    let choices: &[(&str, &str, &[f64])] = &[
        (
            "keepalived",
            "priority",
            &[0.0, 1.0, 2.0, 50.0, 100.0, 254.0, 255.0, 256.0],
        ),
        (
            "keepalived",
            "advert-interval",
            &[0.001, 0.01, 0.05, 0.1, 1.0, 2.5, 40.95, 41.0, 255.0],
        ),
        ("app", "workers", &[0.0, 1.0, 2.0, 8.0, 255.0, 256.0]),
        (
            "mariadb",
            "server-id",
            &[0.0, 1.0, 2.0, 3.0, 7.0, 4294967295.0],
        ),
        ("haproxy", "maxconn", &[1.0, 100.0, 4096.0, 100000.0]),
    ];
    let (kind, k, values) = pick(rng, choices);
    let holders = with_kind(doc, &[kind]);
    let Some((server, _)) = holders.choose(rng).cloned() else {
        return;
    };
    let v = pick(rng, values);
    let v = if v.fract() == 0.0 {
        Value::from(v as u64)
    } else {
        Value::from(v)
    };
    if let Some(o) = options(doc, &server, kind) {
        o.insert(key(k), v);
    }
}

fn set_words(doc: &mut Mapping, rng: &mut StdRng) {
    match rng.random_range(0..3) {
        0 => {
            let holders = with_kind(doc, &["haproxy"]);
            if let Some((s, _)) = holders.choose(rng).cloned() {
                let b = pick(rng, &["roundrobin", "leastconn", "source"]);
                options(doc, &s, "haproxy")
                    .unwrap()
                    .insert(key("balance"), key(b));
            }
        }
        1 => {
            let holders = with_kind(doc, &["prometheus"]);
            if let Some((s, _)) = holders.choose(rng).cloned() {
                let i = pick(rng, &["1s", "5s", "30s", "1m", "0s", "5"]);
                options(doc, &s, "prometheus")
                    .unwrap()
                    .insert(key("scrape-interval"), key(i));
            }
        }
        _ => {
            let ttl = pick(rng, &[0u64, 1, 60, 300, 86400, 2147483647, 2147483648]);
            map_at(doc, "dns").insert(key("ttl"), Value::from(ttl));
        }
    }
}

fn set_address(doc: &mut Mapping, rng: &mut StdRng) {
    let names = server_names(doc);
    let server = pick(rng, &names);
    let nets = map_at(map_at(map_at(doc, "servers"), &server), "networks");
    let Some(net) = nets
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .choose(rng)
        .cloned()
    else {
        return;
    };
    let host = pick(
        rng,
        &[
            0u64, 1, 2, 3, 9, 10, 11, 99, 100, 200, 253, 254, 255, 256, 1000,
        ],
    );
    nets.insert(net, Value::from(host));
}

fn set_subnet(doc: &mut Mapping, rng: &mut StdRng) {
    let nets = map_at(doc, "networks");
    let names: Vec<Value> = nets.keys().cloned().collect();
    let Some(n) = names.choose(rng).cloned() else {
        return;
    };
    let net = nets.get_mut(&n).and_then(Value::as_mapping_mut).unwrap();
    let subnet = net["subnet"].as_str().unwrap_or("10.0.0.0/24").to_string();
    let base: Vec<&str> = subnet.split(['.', '/']).collect();
    let prefix = pick(rng, &[16u8, 20, 24, 25, 28, 29]);
    let text = match prefix {
        16 => format!("{}.{}.0.0/16", base[0], base[1]),
        20 => format!("{}.{}.0.0/20", base[0], base[1]),
        _ => format!("{}.{}.{}.0/{prefix}", base[0], base[1], base[2]),
    };
    net.insert(key("subnet"), key(&text));
}

fn random_record(doc: &Mapping, rng: &mut StdRng) -> Value {
    let kind = pick(rng, &["A", "CNAME", "MX", "TXT"]);
    let servers = server_names(doc);
    let value = match kind {
        "A" => match rng.random_range(0..3) {
            0 => pick(rng, &servers),
            1 => {
                let subnet = doc["networks"]
                    .as_mapping()
                    .and_then(|m| m.values().next())
                    .and_then(|n| n["subnet"].as_str())
                    .unwrap_or("10.0.0.0/24");
                let b: Vec<&str> = subnet.split('.').collect();
                format!("{}.{}.{}.{}", b[0], b[1], b[2], rng.random_range(0..=255))
            }
            _ => "192.0.2.7".into(),
        },
        "TXT" => match rng.random_range(0..2) {
            0 => "t".repeat(pick(rng, &[0usize, 1, 100, 254, 255, 256, 300])),
            _ => pick(rng, TRICKY_TEXT).to_string(),
        },
        _ => match rng.random_range(0..6) {
            0 => "www.foobar.com.".into(),
            1 => "mail.example.org.".into(),
            2 => "foobar.com.".into(),
            _ => some_name(rng),
        },
    };
    let mut r = Mapping::new();
    r.insert(key("name"), key(&some_name(rng)));
    r.insert(key("type"), key(kind));
    r.insert(key("value"), key(&value));
    if kind == "MX" && rng.random_bool(0.7) {
        r.insert(
            key("priority"),
            Value::from(pick(rng, &[0u64, 5, 10, 65535])),
        );
    }
    Value::Mapping(r)
}

fn change_records(doc: &mut Mapping, rng: &mut StdRng) {
    let record = random_record(doc, rng);
    let records = list_at(map_at(doc, "dns"), "records");
    match rng.random_range(0..4) {
        0 if !records.is_empty() => {
            let i = rng.random_range(0..records.len());
            records.remove(i);
        }
        1 if !records.is_empty() => {
            let i = rng.random_range(0..records.len());
            records[i] = record;
        }
        _ => records.push(record),
    }
}

/// Renames a server, and the records, firewall entries and lists that name it.
fn rename_server(doc: &mut Mapping, rng: &mut StdRng) {
    let names = server_names(doc);
    let old = pick(rng, &names);
    let new = match rng.random_range(0..4) {
        0 => pick(rng, &["s", "web-9", "Web-1", "-x", "db_1"]).to_string(),
        _ => "n".repeat(pick(rng, &[1usize, 2, 39, 40, 41, 63])),
    };
    let servers = map_at(doc, "servers");
    let Some(i) = servers.keys().position(|k| k.as_str() == Some(&old)) else {
        return;
    };
    // Rebuild in order, so the renamed server keeps its place.
    let entries: Vec<(Value, Value)> = std::mem::take(servers).into_iter().collect();
    for (j, (k, v)) in entries.into_iter().enumerate() {
        servers.insert(if j == i { key(&new) } else { k }, v);
    }
    rename_refs(doc, &old, &new);
}

/// Where a stack names a server: record values, firewall entries, and the
/// lists and references of component options.
fn rename_refs(doc: &mut Mapping, old: &str, new: &str) {
    for (k, v) in doc.iter_mut() {
        let k = k.as_str().unwrap_or_default();
        match v {
            Value::String(s) if s == old && ["value", "from", "to", "primary"].contains(&k) => {
                *s = new.to_string()
            }
            Value::Sequence(items) if ["ssh-from", "backends", "upstream"].contains(&k) => {
                for i in items.iter_mut().filter(|i| i.as_str() == Some(old)) {
                    *i = key(new);
                }
            }
            Value::Mapping(m) => rename_refs(m, old, new),
            Value::Sequence(items) => {
                for i in items.iter_mut() {
                    if let Value::Mapping(m) = i {
                        rename_refs(m, old, new);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Renames a network, and the servers' addresses on it.
fn rename_network(doc: &mut Mapping, rng: &mut StdRng) {
    let nets = map_at(doc, "networks");
    let names: Vec<Value> = nets.keys().cloned().collect();
    let Some(old) = names.choose(rng).cloned() else {
        return;
    };
    let (forty, forty_one) = ("w".repeat(40), "w".repeat(41));
    let names = ["a", "lan", "dmz-2", "Lan", "net_1", &forty, &forty_one];
    let new = key(pick(rng, &names));
    let entries: Vec<(Value, Value)> = std::mem::take(nets).into_iter().collect();
    for (k, v) in entries {
        nets.insert(if k == old { new.clone() } else { k }, v);
    }
    for name in server_names(doc) {
        let addrs = map_at(map_at(map_at(doc, "servers"), &name), "networks");
        if let Some(a) = addrs.remove(&old) {
            addrs.insert(new.clone(), a);
        }
    }
}

/// Flips a network's `public`, or TLS's `reencrypt`, written as people do.
fn flip_flag(doc: &mut Mapping, rng: &mut StdRng) {
    let word = key(pick(rng, &["yes", "no", "on", "off", "true", "false"]));
    match doc.get_mut("tls") {
        Some(Value::Mapping(tls)) if rng.random_bool(0.5) => {
            tls.insert(key("reencrypt"), word);
        }
        _ => {
            let nets = map_at(doc, "networks");
            let names: Vec<Value> = nets.keys().cloned().collect();
            if let Some(n) = names.choose(rng) {
                if let Some(Value::Mapping(net)) = nets.get_mut(n) {
                    net.insert(key("public"), word);
                }
            }
        }
    }
}

fn set_domain(doc: &mut Mapping, rng: &mut StdRng) {
    let d = match rng.random_range(0..4) {
        0 => format!("{}.com", "d".repeat(pick(rng, &[62usize, 63, 64]))),
        _ => pick(
            rng,
            &["foobar.com", "example.org", "a.b", "lab.example.net", "x"],
        )
        .to_string(),
    };
    doc.insert(key("domain"), key(&d));
    if let Some(Value::Mapping(tls)) = doc.get_mut("tls") {
        tls.insert(
            key("names"),
            Value::Sequence(vec![key(&format!("www.{d}")), key(&d)]),
        );
    }
}

/// One mutant of `base`: one to three mutations.
fn mutate(base: &Mapping, rng: &mut StdRng) -> Mapping {
    let mut doc = base.clone();
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..12) {
            0..=2 => set_port(&mut doc, rng),
            3 | 4 => set_option(&mut doc, rng),
            5 => set_words(&mut doc, rng),
            6 | 7 => set_address(&mut doc, rng),
            8 => set_subnet(&mut doc, rng),
            9 | 10 => change_records(&mut doc, rng),
            _ => match rng.random_range(0..10) {
                0..=4 => rename_server(&mut doc, rng),
                5 | 6 => set_domain(&mut doc, rng),
                7 | 8 => flip_flag(&mut doc, rng),
                _ => rename_network(&mut doc, rng),
            },
        }
    }
    doc
}

/// `n` mutants of the first four shipped stacks, in a fixed order: (label, YAML).
/// Each is named `mut`, so that mutants share one set of secrets and their
/// unchanged servers render to the same files.
pub fn mutants(n: usize) -> Vec<(String, String)> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let bases: Vec<(&str, Mapping)> = ["task0", "task1", "task2", "task3"]
        .into_iter()
        .map(|s| (s, flattened(s)))
        .collect();
    (0..n)
        .map(|i| {
            let (name, base) = &bases[i % bases.len()];
            let mut doc = mutate(base, &mut rng);
            doc.insert(key("name"), key("mut"));
            let label = format!("mutant {i} of {name}");
            (label, serde_yaml::to_string(&Value::Mapping(doc)).unwrap())
        })
        .collect()
}

/// What loading and rendering every mutant gives, without the engine:
/// (label, yaml, plan) of those that render.
pub fn rendered(n: usize, state: &Path) -> Vec<(String, String, infractl::render::plan::Plan)> {
    let dir = tempfile::tempdir().unwrap();
    let global = infractl::commands::Global {
        state_dir: Some(state.to_path_buf()),
        quiet: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    for (i, (label, yaml)) in mutants(n).into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}.yaml"));
        std::fs::write(&path, &yaml).unwrap();
        match infractl::commands::plan_for(path.to_str().unwrap(), &global) {
            Ok((_, plan)) => out.push((label, yaml, plan)),
            Err(infractl::Error::Stack(diags)) => {
                for d in &diags {
                    assert!(
                        d.location.is_some() || d.message.contains("taken from the file's name"),
                        "{label}: a diagnostic with no place: {}\n{yaml}",
                        d.message
                    );
                }
            }
            Err(e) => panic!("{label}: not a stack error: {}\n{yaml}", e.report()),
        }
    }
    out
}

#[test]
fn mutants_load_or_are_refused_at_a_line_and_what_loads_matches_the_schema() {
    let state = tempfile::tempdir().unwrap();
    let n = 400;
    let ok = rendered(n, state.path());
    // Both kinds occur: the mutations reach the limits, not only safe values.
    assert!(
        ok.len() > n / 5 && ok.len() < n * 4 / 5,
        "{} of {n} rendered",
        ok.len()
    );
    let schema = crate::stack_schema::validator();
    for (label, yaml, _) in &ok {
        let v: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        let errors: Vec<String> = schema
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{label}: the loader took it, the schema refuses it: {errors:?}\n{yaml}"
        );
    }
}

/// Servers of `plans` with distinct files and checks, renamed apart, in one
/// plan; at most `max` of them.
fn distinct_servers(
    plans: &[(String, String, infractl::render::plan::Plan)],
    max: usize,
) -> (infractl::render::plan::Plan, usize) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut merged = plans[0].2.clone();
    merged.servers.clear();
    let mut used = 0;
    for (i, (_, _, plan)) in plans.iter().enumerate() {
        let fresh: Vec<_> = plan
            .servers
            .iter()
            .filter(|s| !s.checks.is_empty())
            .filter(|s| {
                let files: Vec<(&str, &str)> = s
                    .files
                    .iter()
                    .map(|f| (f.path.as_str(), f.sha256.as_str()))
                    .collect();
                let checks: Vec<&str> = s.checks.iter().map(|c| c.command.as_str()).collect();
                seen.insert(format!("{files:?}{checks:?}"))
            })
            .cloned()
            .collect();
        if merged.servers.len() + fresh.len() > max {
            break;
        }
        used = i + 1;
        for mut s in fresh {
            s.name = format!("m{i}-{}", s.name);
            merged.servers.push(s);
        }
    }
    (merged, used)
}

/// With the engine: every mutant that renders passes `validate`'s checks
/// (nginx -t, haproxy -c, named-checkzone, keepalived -t, ...). Servers
/// identical to one already checked are checked once.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn every_mutant_that_renders_passes_the_real_programs() {
    // Check containers load the cores: not beside a lab's timing checks.
    let _lab = crate::up::lab_lock();
    // INFRACTL_MUTANTS=N explores N mutants, all of them checked (slow).
    let (n, max) = match std::env::var("INFRACTL_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => (n, usize::MAX),
        None => (400, 100),
    };
    let state = tempfile::tempdir().unwrap();
    let ok = rendered(n, state.path());
    let (plan, used) = distinct_servers(&ok, max);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async {
        // The engine through bollard itself, as infractl reaches it.
        let docker = bollard::Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        let silent = Arc::new(infractl::progress::Silent);
        infractl::driver::docker::image::ensure(&docker, None, false, silent.as_ref())
            .await
            .unwrap();
        infractl::driver::docker::check::run(&docker, &plan, silent)
            .await
            .unwrap()
    });
    eprintln!(
        "{} checks on {} distinct servers of {used} rendered mutants",
        results.len(),
        plan.servers.len()
    );
    assert!(used >= 30, "only {used} mutants checked");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| {
            let i: usize = r.server[1..].split('-').next().unwrap().parse().unwrap();
            format!(
                "{}: {} rejected {} on {}:\n{}\n{}",
                ok[i].0, r.program, r.file, r.server, r.message, ok[i].1
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} checks failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

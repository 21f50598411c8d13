//! The registry walked whole: every kind is named once, has the templates
//! it lists (each rendered for a shipped stack through the normal render
//! path) and is in the JSON Schema stacks name.

use super::KINDS;
use crate::lab::state::{Secrets, TlsMaterial};
use crate::render::{plan_with, Renderer};
use crate::topology::Topology;

/// The shipped stacks, every kind among them.
const SHIPPED: [&str; 5] = ["task0", "task1", "task2", "task3", "task4"];

#[test]
fn kind_names_are_unique() {
    for (i, k) in KINDS.iter().enumerate() {
        assert!(
            KINDS[..i].iter().all(|o| o.name != k.name),
            "`{}` is in KINDS twice",
            k.name
        );
    }
    // A word from elsewhere hints at one kind, and is no kind's name.
    let words: Vec<&str> = KINDS.iter().flat_map(|k| k.habits).map(|h| h.0).collect();
    for (i, w) in words.iter().enumerate() {
        assert!(!words[..i].contains(w), "`{w}` hints at two kinds");
        assert!(KINDS.iter().all(|k| k.name != *w), "`{w}` is a kind");
    }
}

#[test]
fn every_template_of_a_kind_exists_and_renders_for_a_shipped_stack() {
    let renderer = Renderer::new().expect("the templates load");
    let secrets = Secrets {
        db_app: "a".into(),
        db_replication: "r".into(),
        db_exporter: "e".into(),
        tls: Some(TlsMaterial {
            ca_cert: "ca".into(),
            cert: "cert".into(),
            key: "key".into(),
        }),
        zone_serial: None,
    };
    for stack in SHIPPED {
        let topo = Topology::load(stack).expect("a shipped stack loads");
        plan_with(&renderer, &topo, &secrets, "infractl/node:test").expect("it renders");
    }
    let names = renderer.names();
    let rendered = renderer.rendered();
    for k in KINDS {
        for t in k.templates {
            let t = t.to_string();
            assert!(
                names.contains(&t),
                "{t} of `{}` is not in templates/",
                k.name
            );
            assert!(
                rendered.contains(&t),
                "{t} of `{}` renders for none of {SHIPPED:?}",
                k.name
            );
        }
    }
    for t in &names {
        assert!(
            KINDS.iter().any(|k| k.templates.contains(&t.as_str())),
            "templates/{t} is no kind's"
        );
    }
}

#[test]
fn every_kind_is_in_the_schema_file() {
    let text = include_str!("../../stack.schema.json");
    let schema: serde_json::Value = serde_json::from_str(text).expect("JSON");
    let any_of = schema["$defs"]["Component"]["anyOf"]
        .as_array()
        .expect("a component is one of several shapes");
    for k in KINDS {
        let with_options = any_of
            .iter()
            .any(|shape| shape["required"] == serde_json::json!([k.name]));
        assert!(
            with_options,
            "`{}` with options is not in the schema",
            k.name
        );
    }
}

//! The book's reference pages, generated so that they cannot drift: a page
//! per command from the clap definition (`crate::cli`, as the man pages
//! are), and the stack format's fields from its JSON Schema
//! (`super::schema`). The book (docs/) keeps them beside its hand-written
//! pages; a test regenerates them and compares (`UPDATE_DOCS=1` rewrites).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The generated pages: (path in the book, Markdown), the commands' first.
pub fn pages() -> Vec<(String, String)> {
    let mut out = command_pages();
    out.push(("stack/reference.md".into(), stack_reference()));
    out
}

/// What a generated page says of itself, atop it.
const GENERATED: &str = "<!-- Generated from the sources (`UPDATE_DOCS=1 cargo test --test main docs`); do not edit. -->\n\n";

/// The file of a command's page: `commands/up.md`, `commands/class-up.md`.
pub fn command_file(path: &[&str]) -> String {
    format!("commands/{}.md", path.join("-"))
}

fn command_pages() -> Vec<(String, String)> {
    let mut root = crate::cli::command().disable_help_subcommand(true);
    root.build();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let mut out = Vec::new();
    for cmd in root.get_subcommands().filter(|c| !c.is_hide_set()) {
        command_page(cmd, &[], &globals, &mut out);
    }
    out
}

/// The page of a command (under `parents`), then its subcommands' pages.
fn command_page(
    cmd: &clap::Command,
    parents: &[&str],
    globals: &[clap::Arg],
    out: &mut Vec<(String, String)>,
) {
    let mut path: Vec<&str> = parents.to_vec();
    path.push(cmd.get_name());
    let mut md = String::from(GENERATED);
    let _ = writeln!(md, "# infractl {}\n", path.join(" "));
    if let Some(about) = cmd.get_about() {
        let _ = writeln!(md, "{}\n", sentence(&text(&about.to_string())));
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").trim();
    let _ = writeln!(md, "```text\n{usage}\n```\n");
    if let Some(long) = cmd.get_long_about() {
        // The first paragraph is the about, said above.
        let long = long.to_string();
        let rest = long.split_once("\n\n").map_or("", |(_, r)| r).trim();
        if !rest.is_empty() {
            let _ = writeln!(md, "{}\n", text(rest));
        }
    }
    let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    subcommands(&mut md, &path, &subs);
    arguments(&mut md, cmd);
    let global: Vec<String> = globals.iter().map(|a| format!("`{}`", flag(a))).collect();
    let _ = writeln!(
        md,
        "Global options: {}, `-h, --help`; see [Commands](../commands.md#global-options).\n",
        global.join(", ")
    );
    if let Some(example) = cmd.get_after_help() {
        let example = example.to_string();
        let lines: Vec<&str> = example
            .lines()
            .map(|l| l.trim_start_matches("Example:").trim())
            .collect();
        let _ = writeln!(md, "## Example\n\n```sh\n{}\n```", lines.join("\n"));
    }
    out.push((command_file(&path), md));
    for sub in subs {
        command_page(sub, &path, globals, out);
    }
}

/// A command's table of subcommands, each linked to its page; nothing
/// when it has none.
fn subcommands(md: &mut String, path: &[&str], subs: &[&clap::Command]) {
    if subs.is_empty() {
        return;
    }
    md.push_str("## Commands\n\n| command | what it does |\n|---|---|\n");
    for sub in subs {
        let mut p = path.to_vec();
        p.push(sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        let file = command_file(&p);
        let file = file.trim_start_matches("commands/");
        let _ = writeln!(
            md,
            "| [`{}`]({file}) | {} |",
            p.join(" "),
            cell(&sentence(&about))
        );
    }
    md.push('\n');
}

/// A command's arguments, then its options under their help heading (the
/// host flags under "Hosts").
fn arguments(md: &mut String, cmd: &clap::Command) {
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    let positionals: Vec<&&clap::Arg> = args.iter().filter(|a| a.is_positional()).collect();
    if !positionals.is_empty() {
        md.push_str("## Arguments\n\n| argument | description |\n|---|---|\n");
        for a in positionals {
            let _ = writeln!(md, "| `{}` | {} |", positional(a), cell(&describe(a)));
        }
        md.push('\n');
    }
    // Options under their help heading (the host flags under "Hosts").
    let mut headings: Vec<Option<&str>> = Vec::new();
    for a in args.iter().filter(|a| !a.is_positional()) {
        if !headings.contains(&a.get_help_heading()) {
            headings.push(a.get_help_heading());
        }
    }
    for heading in headings {
        let _ = writeln!(
            md,
            "## {}\n\n| option | description |\n|---|---|",
            heading.unwrap_or("Options")
        );
        for a in args
            .iter()
            .filter(|a| !a.is_positional() && a.get_help_heading() == heading)
        {
            let _ = writeln!(md, "| `{}` | {} |", flag(a), cell(&describe(a)));
        }
        md.push('\n');
    }
}

/// `<STACK>`, `[SERVICE]`, `<COMMAND>...`.
fn positional(a: &clap::Arg) -> String {
    let names = a
        .get_value_names()
        .map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![a.get_id().as_str().to_uppercase()]);
    let name = names.join(" ");
    let many = a.get_num_args().is_some_and(|n| n.max_values() > 1);
    let dots = if many { "..." } else { "" };
    if a.is_required_set() {
        format!("<{name}>{dots}")
    } else {
        format!("[{name}]{dots}")
    }
}

/// `-o, --output <DIR>`, `--publish [<PORT>]`, `--json`.
fn flag(a: &clap::Arg) -> String {
    let mut s = String::new();
    if let Some(c) = a.get_short() {
        s.push_str(&format!("-{c}"));
        if a.get_long().is_some() {
            s.push_str(", ");
        }
    }
    if let Some(l) = a.get_long() {
        s.push_str(&format!("--{l}"));
    }
    if a.get_action().takes_values() {
        let name = a
            .get_value_names()
            .and_then(|v| v.first().map(|n| n.to_string()))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        if a.get_num_args().is_some_and(|n| n.min_values() == 0) {
            s.push_str(&format!(" [<{name}>]"));
        } else {
            s.push_str(&format!(" <{name}>"));
        }
    }
    s
}

/// An argument's help, with its values, default and variable.
fn describe(a: &clap::Arg) -> String {
    let help = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut s = sentence(&text(&help));
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    let takes = a.get_action().takes_values();
    if takes && !values.is_empty() {
        let _ = write!(s, " Values: {}.", values.join(", "));
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes && !defaults.is_empty() {
        let _ = write!(s, " Default: `{}`.", defaults.join(" "));
    }
    if let Some(env) = a.get_env() {
        let _ = write!(s, " Environment: `{}`.", env.to_string_lossy());
    }
    s.trim().to_string()
}

/// Help text as Markdown: outside code spans, `<` and `>` are not HTML
/// and `*` is no emphasis.
fn text(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push_str(
                &part
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('*', "\\*"),
            );
        }
    }
    out
}

/// `s` ending with a full stop (clap drops a one-line help's own).
fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// `s` in a table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The stack format's fields, from the JSON Schema: each mapping a table
/// (field, type, default, description), top level first, then each type
/// in the order the fields name them.
fn stack_reference() -> String {
    let schema = super::schema::schema();
    let defs = schema["$defs"].as_object().cloned().unwrap_or_default();
    let root = &schema["else"];
    let mut md = String::from(GENERATED);
    md.push_str(
        "# Field reference\n\n\
         Every field of a stack file, generated from its JSON Schema \
         (`infractl schema`, the repository's `stack.schema.json`). \
         [The stack format](index.md) says how the fields work together; \
         [Components](components.md) what each component does.\n\n\
         A stack that `extends` another may leave out any field (it keeps \
         the parent's) and set any mapping entry to `~` (removing the \
         parent's). Top-level keys starting with `x-` are free (anchors).\n\n",
    );
    let mut queue: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    md.push_str("## Top level\n\n");
    fields(root, &defs, &mut md, &mut queue);
    let mut i = 0;
    while i < queue.len() {
        let name = queue[i].clone();
        i += 1;
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(def) = defs.get(&name) else { continue };
        let _ = writeln!(md, "## {name}\n");
        if let Some(d) = def.get("description").and_then(Value::as_str) {
            let _ = writeln!(md, "{}\n", text(&paragraph(d)));
        }
        if def.get("properties").is_some() {
            fields(def, &defs, &mut md, &mut queue);
        } else if name == "Component" {
            components(def, &defs, &mut md, &mut queue);
        } else if let Some(values) = choices(def) {
            md.push_str("| value | meaning |\n|---|---|\n");
            for (v, d) in values {
                let _ = writeln!(md, "| {v} | {} |", cell(&text(&d)));
            }
            md.push('\n');
        } else {
            let _ = writeln!(md, "Type: {}.\n", type_of(def, &defs, &mut queue));
        }
    }
    md.trim_end().to_string() + "\n"
}

/// A mapping's table of fields.
fn fields(s: &Value, defs: &Map<String, Value>, md: &mut String, queue: &mut Vec<String>) {
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    md.push_str("| field | type | default | description |\n|---|---|---|---|\n");
    let Some(props) = s["properties"].as_object() else {
        return;
    };
    for (name, p) in props {
        let ty = type_of(p, defs, queue);
        let default = if required.contains(&name.as_str()) {
            "required".to_string()
        } else {
            match p.get("default") {
                Some(Value::Null) | None => "—".into(),
                Some(v) => format!("`{v}`"),
            }
        };
        let d = p.get("description").and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(md, "| `{name}` | {ty} | {default} | {} |", cell(&text(d)));
    }
    md.push('\n');
}

/// The components: a name alone, or a name with its options.
fn components(s: &Value, defs: &Map<String, Value>, md: &mut String, queue: &mut Vec<String>) {
    md.push_str(
        "A component is its name alone (`- nginx`), or its name with options \
         (`- haproxy: { balance: leastconn }`).\n\n\
         | component | what it is | options |\n|---|---|---|\n",
    );
    for branch in s["anyOf"].as_array().into_iter().flatten() {
        let Some(props) = branch["properties"].as_object() else {
            continue;
        };
        for (name, p) in props {
            let options = type_of(p, defs, queue);
            let d = branch["description"].as_str().unwrap_or("");
            let _ = writeln!(md, "| `{name}` | {} | {options} |", cell(&text(d)));
        }
    }
    md.push('\n');
}

/// The values of an enumeration, with what each means.
fn choices(s: &Value) -> Option<Vec<(String, String)>> {
    let branches = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
    let mut out = Vec::new();
    for b in branches {
        let d = b
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(c) = b.get("const") {
            out.push((format!("`{}`", plain(c)), d));
        } else if let Some(e) = b.get("enum").and_then(Value::as_array) {
            let vs: Vec<String> = e.iter().map(|v| format!("`{}`", plain(v))).collect();
            out.push((vs.join(", "), d));
        } else {
            return None;
        }
    }
    Some(out)
}

/// A JSON value as written in YAML: strings bare.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// The first paragraph of a description, on one line.
fn paragraph(s: &str) -> String {
    s.split("\n\n").next().unwrap_or("").replace('\n', " ")
}

/// A field's type, in words, with links to the types it names.
fn type_of(s: &Value, defs: &Map<String, Value>, queue: &mut Vec<String>) -> String {
    if let Some(r) = s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        queue.push(r.to_string());
        let anchor = r.to_lowercase();
        return match defs.get(r) {
            Some(d) if d.get("properties").is_some() => format!("[{r}](#{anchor})"),
            Some(d) if r != "Component" && choices(d).is_some() => {
                let values: Vec<String> = choices(d)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(v, _)| v)
                    .collect();
                format!("[{r}](#{anchor}): {}", values.join(", "))
            }
            _ => format!("[{r}](#{anchor})"),
        };
    }
    if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
        // A boolean that also takes YAML 1.1's yes/no, on/off.
        if branches.iter().any(|b| b["type"] == "boolean") {
            return "boolean".into();
        }
        let kinds: Vec<String> = branches
            .iter()
            .filter(|b| b["type"] != "null")
            .map(|b| type_of(b, defs, queue))
            .collect();
        return kinds.join(" or ");
    }
    let kinds: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    let words: Vec<String> = kinds
        .iter()
        .map(|k| match *k {
            "array" => match s.get("items") {
                Some(items) => format!("list of {}", type_of(items, defs, queue)),
                None => "list".into(),
            },
            "object" => match s.get("additionalProperties").filter(|v| v.is_object()) {
                Some(v) => format!("map of name to {}", type_of(v, defs, queue)),
                None => "mapping".into(),
            },
            "integer" | "number" => {
                // The largest integers are the types' bounds, not the
                // format's: the description says when they matter.
                let hi = s
                    .get("maximum")
                    .filter(|h| !matches!(h.as_u64(), Some(2147483647 | 4294967295)));
                let range = match (s.get("minimum"), hi) {
                    (Some(lo), Some(hi)) => format!(" ({lo} to {hi})"),
                    (Some(lo), None) => format!(" (from {lo})"),
                    _ => String::new(),
                };
                format!("{k}{range}")
            }
            k => k.to_string(),
        })
        .collect();
    if words.is_empty() {
        "any".into()
    } else {
        words.join(" or ")
    }
}

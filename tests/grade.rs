//! `class verify` and `verify` on a lab with a server stopped: graded
//! claim by claim — what the dead server breaks fails, saying why and that
//! the hint is to start it; DNS and the site, which the other server still
//! serves, pass; the score is between nothing and everything, in every
//! form of the report.

use crate::harness::{docker, Test};
use crate::up::lab_lock;

/// Takes the class down when the test ends, passed or failed.
struct ClassDown<'a>(&'a Test);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run_args(&["--quiet", "class", "down", "it-grade.yaml"]);
    }
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_lab_with_a_server_down_is_graded_claim_by_claim() {
    let _lab = lab_lock();
    let t = Test::new();
    t.file("it-grade.yaml", "stack: task2\nstudents: [ann]\n");
    let _down = ClassDown(&t);
    t.run_args(&["--quiet", "class", "up", "it-grade.yaml"])
        .code(0);
    docker(&["stop", "it-grade-ann-server-02"]);
    // HAProxy takes a web server out after two failed checks, 1 s apart.
    std::thread::sleep(std::time::Duration::from_secs(3));

    let out = t
        .run_args(&[
            "--quiet",
            "class",
            "verify",
            "it-grade.yaml",
            "--report",
            "grades",
        ])
        .code(1);
    let json = std::fs::read_to_string(t.dir().join("grades/report.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lab = &r["labs"][0];
    assert!(lab.get("error").is_none(), "{json}");
    let (score, total) = (
        lab["score"].as_u64().unwrap(),
        lab["total"].as_u64().unwrap(),
    );
    assert!(
        0 < score && score < total,
        "score {score} of {total}\n{json}"
    );
    let claims = lab["claims"].as_array().unwrap();
    let claim = |column: &str| {
        claims
            .iter()
            .find(|c| c["column"] == column)
            .unwrap_or_else(|| panic!("no claim `{column}`:\n{json}"))
    };
    let because = "server-02 is not running";
    let mut failed = Vec::new();
    for c in claims {
        let words = format!("{} {} {}", c["check"], c["expected"], c["observed"]);
        let group = c["group"].as_str().unwrap();
        if c["ok"] == true {
            continue;
        }
        failed.push(c["column"].as_str().unwrap().to_string());
        assert!(
            !["dns", "site"].contains(&group),
            "DNS and the site still work: {c}"
        );
        if words.contains("server-02") {
            assert_eq!(c["because"], because, "{c}");
        }
    }
    // Each failure is the dead server's, and says so: the hint is to
    // start it. A claim that passes has no hint.
    let start = "Start server-02 again (the start button on the lab's page in the portal, \
                 or `infractl up` on the lab), then verify again";
    for c in claims {
        if c["ok"] == true {
            assert!(c.get("hint").is_none(), "{c}");
        } else {
            assert_eq!(c["because"], because, "{c}");
            assert_eq!(c["hint"], start, "{c}");
        }
    }
    assert_eq!(failed.len() as u64, total - score, "{json}");
    for column in [
        "load balancing: 20 requests spread over the web servers",
        "replication: the note reaches replica server-02",
        "replication: replica server-02 refuses writes",
        "firewall: ufw on server-02",
        "monitoring: every exporter is a Prometheus target that is up",
        "alerting: server-02 restored: its alerts resolve",
    ] {
        assert!(
            failed.iter().any(|f| f == column),
            "{column} passed:\n{json}"
        );
    }
    for column in [
        "replication: a note written through the application",
        "firewall: ufw on server-01",
        // Already down: its alert fires without verify killing it.
        "alerting: server-02 killed: its alert fires",
    ] {
        assert_eq!(claim(column)["ok"], true, "{column}:\n{json}");
    }
    assert!(
        claims
            .iter()
            .any(|c| c["group"] == "dns" && c["ok"] == true)
            && claims
                .iter()
                .any(|c| c["group"] == "site" && c["ok"] == true),
        "{json}"
    );
    // Verify neither killed nor started it: the lab is as it was found.
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.State.Running}}",
            "it-grade-ann-server-02"
        ]),
        "false"
    );

    // The terminal, the CSV and the page say the same.
    assert!(
        out.stdout.contains(&format!("{score}/{total}")),
        "{}",
        out.stdout
    );
    let csv = std::fs::read_to_string(t.dir().join("grades/report.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("student,lab,score,total,dns: "));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("ann,it-grade-ann,{score},{total},pass,")),
        "{csv}"
    );
    // The last column, the hints: the one hint, once, with its count.
    assert!(csv.lines().next().unwrap().ends_with(",hints"), "{csv}");
    assert!(
        row.ends_with(&format!(",\"{start} ({} claims)\"", total - score)),
        "{csv}"
    );
    let html = std::fs::read_to_string(t.dir().join("grades/index.html")).unwrap();
    assert!(
        html.contains(&format!("<b>{score} / {total}</b>")),
        "{html}"
    );
    assert!(html.contains(&format!("<em>because</em> {because}")));
    assert!(
        html.contains(&format!("<p class=\"hint\">hint: {start}</p>")),
        "{html}"
    );

    // One lab's verify: exit 1, the failures counted by their reason.
    let one = t.run_args(&["--quiet", "verify", "it-grade-ann"]).code(1);
    let summary = one
        .stdout
        .lines()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no summary:\n{}", one.stdout));
    let failed: String = summary
        .split(" passed, ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(
        summary.ends_with(&format!(" failed ({failed} because {because})")),
        "{}",
        one.stdout
    );
    assert!(
        one.stdout
            .lines()
            .filter(|l| l.starts_with("dns: ") || l.starts_with("site: "))
            .all(|l| l.contains(" pass ")),
        "{}",
        one.stdout
    );
    // Each failed row is followed by its hint; a passing one by none.
    let lines: Vec<&str> = one.stdout.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let next = lines.get(i + 1).copied().unwrap_or("");
        if l.contains("  FAIL  ") {
            assert!(
                next.starts_with("  hint: Start server-02 again "),
                "{l}\n{next}\n{}",
                one.stdout
            );
        } else if l.contains("  pass  ") {
            assert!(!next.starts_with("  hint: "), "{l}\n{next}");
        }
    }
}

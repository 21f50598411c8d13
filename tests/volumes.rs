//! A server made again keeps its data: the rows written on a task1 lab's
//! database are found on its primary and its replica after `up` made both
//! servers again (the lab's structure changed under them), replication
//! still runs, and `down` leaves no volume behind.

use crate::harness::Test;
use crate::up::{lab_lock, labelled, test_stack, Down};

/// Runs SQL on `server` of the lab `file`; its output.
fn sql(t: &Test, file: &str, server: &str, query: &str) -> String {
    t.run_args(&["exec", file, server, "--", "mariadb", "-N", "-e", query])
        .code(0)
        .stdout
}

/// Waits (20 s at most) until `server` holds `rows` notes.
fn until_rows(t: &Test, file: &str, server: &str, rows: &str) {
    let mut got = String::new();
    for _ in 0..100 {
        got = sql(t, file, server, "SELECT text FROM site.notes ORDER BY id");
        if got == rows {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{server} holds:\n{got}\nnot:\n{rows}");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_database_server_made_again_keeps_its_rows() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-vol", 240, true);
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("Lab `it-vol` is up");
    let volumes = labelled("volume", "it-vol");
    assert_eq!(volumes.len(), 2, "one volume per database: {volumes:?}");
    sql(
        &t,
        &file,
        "server-01",
        "INSERT INTO site.notes (text, written_by) VALUES ('before', 'test')",
    );
    until_rows(&t, &file, "server-02", "before\n");

    // The same lab as task2: a firewall on each server, so a capability
    // more (a changed structure): every server with one is made again.
    let same = test_stack(&t, "task2", "it-vol", 240, true);
    assert_eq!(same, file);
    let dry = t.run_args(&["up", &file, "--dry-run"]).code(0).stdout;
    assert!(
        dry.contains("database (/var/lib/mysql) kept") && !dry.contains("NOT kept"),
        "{dry}"
    );
    let up = t.run_args(&["up", &file]).code(0);
    for server in ["server-01", "server-02"] {
        let said = format!(
            "  {server}: recreated (made with another image, networks or capabilities); database (/var/lib/mysql) kept"
        );
        assert!(up.stdout.contains(&said), "{}", up.stdout);
    }
    assert!(
        up.stderr.contains("server-01: recreated ("),
        "said before it acts: {}",
        up.stderr
    );
    let now = labelled("volume", "it-vol");
    assert!(
        volumes.iter().all(|v| now.contains(v)),
        "the same volumes: {now:?}"
    );
    until_rows(&t, &file, "server-01", "before\n");
    until_rows(&t, &file, "server-02", "before\n");
    // The replica still follows its primary.
    sql(
        &t,
        &file,
        "server-01",
        "INSERT INTO site.notes (text, written_by) VALUES ('after', 'test')",
    );
    until_rows(&t, &file, "server-02", "before\nafter\n");

    // A Prometheus history is kept too; `down` leaves nothing behind.
    assert_eq!(labelled("volume", "it-vol").len(), 3);
    t.run_args(&["--quiet", "down", &file]).code(0);
    assert_eq!(labelled("volume", "it-vol"), Vec::<String>::new());
    assert_eq!(labelled("container", "it-vol"), Vec::<String>::new());
}

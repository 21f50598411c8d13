//! A lab grows from one stage to the next in place, its data kept. Rows
//! written on task1's database are on every database server after `up`
//! grows the lab to task2 (the same servers made again on the stage's
//! subnets, their volumes kept), task3 (the database moved to db-01 and
//! its replica db-02 through a dump) and task4 (db-01 made a Galera node,
//! its rows loaded back and copied to db-02 and db-03). Each stage serves
//! its site and passes verify; task3 then goes through the virtual IP's
//! fault (`faults::cycle_on`: inject, verify fails what it says, the
//! learner's repair, verify passes); task4 then survives the loss of any one
//! server (verify's `task4_survives_the_loss_of_any_one_server`, on the
//! grown lab). Before all that, a change that would lose
//! a primary's rows is refused with nothing changed, and goes on when told
//! to. `down` leaves no volume behind.

use crate::harness::{Output, Test};
use crate::up::{lab_lock, labelled, Down};

const LAB: &str = "it-grow";

/// Runs SQL on `server` of the lab; its output.
fn sql(t: &Test, server: &str, query: &str) -> String {
    t.run_args(&["exec", LAB, server, "--", "mariadb", "-N", "-e", query])
        .code(0)
        .stdout
}

fn write(t: &Test, server: &str, text: &str) {
    sql(
        t,
        server,
        &format!("INSERT INTO site.notes (text, written_by) VALUES ('{text}', 'test')"),
    );
}

/// Waits (20 s at most) until `server` holds the notes `rows`.
fn until_rows(t: &Test, server: &str, rows: &str) {
    let mut got = String::new();
    for _ in 0..100 {
        got = sql(
            t,
            server,
            "SELECT text FROM site.notes WHERE written_by = 'test' ORDER BY id",
        );
        if got == rows {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{server} holds:\n{got}\nnot:\n{rows}");
}

/// `up STACK --lab it-grow`: what it printed (the servers made, made
/// again or removed, shown in the test's output).
fn grow(t: &Test, stack: &str) -> Output {
    let up = t.run_args(&["up", stack, "--lab", LAB]).code(0);
    eprintln!(
        "up {stack}:\n{}",
        up.stdout.lines().take(12).collect::<Vec<_>>().join("\n")
    );
    up
}

/// The site answers the lab's client.
fn serves(t: &Test, url: &str) {
    t.run_args(&["exec", LAB, "client", "--", "curl", "-sfk", "-m", "10", url])
        .code(0);
}

/// The site answers the lab's client, and verify passes.
fn serves_and_verifies(t: &Test, url: &str) {
    serves(t, url);
    let v = t.run_args(&["--quiet", "verify", LAB]);
    assert_eq!(v.code, 0, "verify:\n{}\n{}", v.stdout, v.stderr);
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_lab_grows_from_task1_to_task4_and_keeps_its_rows() {
    // The engine shared, but alone for the verifies that time a failover
    // in hundreds of milliseconds: task3's once its fault is repaired,
    // task4's survival.
    let mut turn = lab_lock();
    let t = Test::new();
    let _down = Down(&t, LAB.into());
    // First task1 with a second primary: server-02 keeps writes of its
    // own, which task1 (server-02 a replica) would lose.
    t.file(
        "two.yaml",
        "extends: task1\nname: two\nservers:\n  server-02:\n    components: [nginx, app, { mariadb: { role: primary } }]\n",
    );
    grow(&t, "two.yaml");
    assert_eq!(labelled("volume", LAB).len(), 2, "one volume per database");
    write(&t, "server-01", "task1");
    write(&t, "server-02", "only here");
    let refused = t.run_args(&["up", "task1", "--lab", LAB]);
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("server-02: database (/var/lib/mysql): it holds the primary's own writes")
            && refused.stderr.contains("--discard-data"),
        "{}",
        refused.stderr
    );
    let dry = t
        .run_args(&["up", "task1", "--lab", LAB, "--dry-run"])
        .code(0)
        .stdout;
    assert!(
        dry.contains("`up` refuses it without --discard-data: the database of server-02"),
        "{dry}"
    );
    // Nothing changed, the lab's record neither.
    let status = t.run_args(&["status", "--json"]).code(0).stdout;
    let labs: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    let stack = labs["labs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["lab"] == LAB)
        .map(|l| l["stack"].clone());
    assert_eq!(stack, Some(serde_json::json!("two")), "{status}");
    until_rows(&t, "server-02", "only here\n");
    // Told to, it goes on: server-02 a replica of server-01.
    let up = t
        .run_args(&["up", "task1", "--lab", LAB, "--discard-data"])
        .code(0);
    assert!(up.stdout.contains("NOT kept"), "{}", up.stdout);
    until_rows(&t, "server-02", "task1\n");
    serves_and_verifies(&t, "http://www.foobar.com/");

    // task2: a firewall on each server (a capability more) and subnets of
    // its own: every server made again, the databases' volumes kept.
    let dry = t
        .run_args(&["up", "task2", "--lab", LAB, "--dry-run"])
        .code(0)
        .stdout;
    assert!(
        dry.contains("database (/var/lib/mysql) kept") && !dry.contains("NOT kept"),
        "{dry}"
    );
    let up = grow(&t, "task2");
    assert!(
        up.stdout
            .contains("server-01: recreated (made with another image, networks or capabilities); database (/var/lib/mysql) kept"),
        "{}",
        up.stdout
    );
    until_rows(&t, "server-01", "task1\n");
    until_rows(&t, "server-02", "task1\n");
    write(&t, "server-01", "task2");
    until_rows(&t, "server-02", "task1\ntask2\n");
    serves_and_verifies(&t, "https://www.foobar.com/");

    // task3 moves the database to servers of its own: dumped from
    // server-01 before anything changes, loaded into db-01, copied to its
    // replica.
    let up = grow(&t, "task3");
    assert!(
        up.stdout.contains(
            "server-01: removed (no longer in the stack); database (/var/lib/mysql) moved to db-01"
        ),
        "{}",
        up.stdout
    );
    assert!(
        up.stderr.contains("server-01: database site dumped")
            && up.stderr.contains("db-01: database site loaded"),
        "{}",
        up.stderr
    );
    for server in ["db-01", "db-02"] {
        until_rows(&t, server, "task1\ntask2\n");
    }
    write(&t, "db-01", "task3");
    until_rows(&t, "db-02", "task1\ntask2\ntask3\n");
    assert!(
        !t.state_dir()
            .join(LAB)
            .join("moving")
            .join("db-01.sql")
            .exists(),
        "the dump is forgotten once loaded"
    );
    serves(&t, "https://www.foobar.com/");
    // The virtual IP's fault: the backup keeps the address it takes over,
    // with no HAProxy to serve it; repaired on the backup itself. Its
    // cycle ends on verify passing: task3's verify (one before it would
    // show nothing more, any other failure failing the cycle), the engine
    // alone for it.
    crate::faults::cycle_turning(
        &t,
        LAB,
        "keepalived-backup-without-haproxy",
        "0",
        Some("admin"),
        Some(&mut turn),
    );
    turn.shared();

    // task4: db-01 a Galera node (its data made anew, its rows loaded
    // back), db-02 and db-03 its peers. (From a file: the survival test
    // below adds a DNS record to it.)
    t.file(
        "task4.yaml",
        "extends: task4\nname: task4\ndns:\n  records:\n\
         \x20   - { name: \"@\", type: A, value: 10.104.0.100 }\n\
         \x20   - { name: www, type: A, value: 10.104.0.100 }\n\
         \x20   - { name: blog, type: CNAME, value: www }\n",
    );
    let up = grow(&t, "task4.yaml");
    assert!(
        up.stdout
            .contains("database (/var/lib/mysql) dumped and loaded back"),
        "{}",
        up.stdout
    );
    for server in ["db-01", "db-02", "db-03"] {
        until_rows(&t, server, "task1\ntask2\ntask3\n");
    }
    turn.alone();
    crate::verify::task4_survives_the_loss_of_any_one_server(&t, LAB, "task4.yaml");
    // Chaos took servers down and brought them back: the rows are there.
    for server in ["db-01", "db-02", "db-03"] {
        until_rows(&t, server, "task1\ntask2\ntask3\n");
    }

    t.run_args(&["--quiet", "down", LAB]).code(0);
    assert_eq!(labelled("volume", LAB), Vec::<String>::new());
    assert_eq!(labelled("container", LAB), Vec::<String>::new());
}

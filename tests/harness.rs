//! A builder that runs the `infractl` binary and checks what it prints.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Test {
    args: Vec<String>,
    state: tempfile::TempDir,
    files: tempfile::TempDir,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Self {
        Test {
            args: Vec::new(),
            state: tempfile::tempdir().expect("tempdir"),
            files: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Writes a file in the test's directory; returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    pub fn dir(&self) -> &Path {
        self.files.path()
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// Runs with the builder's arguments followed by `args`.
    pub fn run_args(&self, args: &[&str]) -> Output {
        let mut all = self.args.clone();
        all.extend(args.iter().map(|s| s.to_string()));
        self.exec(&all)
    }

    /// Runs like `run_args`, with extra environment variables.
    pub fn run_env_args(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut all = self.args.clone();
        all.extend(args.iter().map(|s| s.to_string()));
        self.exec_env(env, &all)
    }

    pub fn run(&self) -> Output {
        self.exec(&self.args)
    }

    fn exec(&self, args: &[String]) -> Output {
        self.exec_env(&[], args)
    }

    fn exec_env(&self, env: &[(&str, &str)], args: &[String]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_infractl"))
            .args(args)
            .envs(env.iter().copied())
            .env("INFRACTL_STATE_DIR", self.state.path())
            .current_dir(self.files.path())
            .output()
            .expect("run infractl");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stderr(self, want: &str) -> Self {
        assert_eq!(self.stderr, want, "stderr differs");
        self
    }

    pub fn stderr_has(self, want: &str) -> Self {
        assert!(
            self.stderr.contains(want),
            "stderr lacks {want:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_has(self, want: &str) -> Self {
        assert!(
            self.stdout.contains(want),
            "stdout lacks {want:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// Asks `done` up to `tries` times, half a second apart, until it holds:
/// whether it did.
pub fn eventually(tries: u32, mut done: impl FnMut() -> bool) -> bool {
    (0..tries).any(|i| {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        done()
    })
}

/// Runs the `docker` command, which must succeed; its output, trimmed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker cli");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every `CASE.yaml` of `tests/FOLDER/`, run as `command` names it (the
/// file in place of `{}`), against an engine that is never reached: exit
/// 2, no state made, and stderr exactly `CASE.stderr` (`UPDATE_GOLDEN=1`
/// writes them from what the binary prints). At least `least` cases.
pub fn bad_files_are_refused(folder: &str, command: &[&str], least: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder);
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("tests/{folder}: {e}"))
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "yaml").then_some(p)
        })
        .collect();
    cases.sort();
    assert!(
        cases.len() >= least,
        "tests/{folder} has {} cases",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|path| {
            let case = path.file_stem().unwrap().to_string_lossy().into_owned();
            let t = Test::new();
            let file = format!("{case}.yaml");
            t.file(&file, &std::fs::read_to_string(path).unwrap());
            let args: Vec<&str> = command
                .iter()
                .map(|a| if *a == "{}" { file.as_str() } else { a })
                .collect();
            let out = t.run_env_args(&[("DOCKER_HOST", "tcp://127.0.0.1:1")], &args);
            if out.code != 2 {
                return Some(format!(
                    "{case}: exit {} (want 2)\n{}",
                    out.code, out.stderr
                ));
            }
            if std::fs::read_dir(t.state_dir()).is_ok_and(|mut d| d.next().is_some()) {
                return Some(format!("{case}: a bad file created state"));
            }
            let golden = dir.join(format!("{case}.stderr"));
            if update {
                std::fs::write(&golden, &out.stderr).unwrap();
                return None;
            }
            let Ok(want) = std::fs::read_to_string(&golden) else {
                return Some(format!(
                    "tests/{folder}/{case}.stderr is missing (UPDATE_GOLDEN=1 writes it)"
                ));
            };
            (out.stderr != want).then(|| {
                format!(
                    "{case}: stderr differs\n--- want\n{want}--- got\n{}",
                    out.stderr
                )
            })
        })
        .collect();
    all_passed(&failures, cases.len());
}

/// Fails with every case's failure, of `cases` run.
pub fn all_passed(failures: &[String], cases: usize) {
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

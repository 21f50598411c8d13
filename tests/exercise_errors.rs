//! Every bad exercise file in `tests/exercise-errors/`: `infractl validate
//! FILE` refuses it with exit 2 before any engine is reached, makes no
//! state, and prints exactly `<case>.stderr`: the file's line and a caret
//! under what is wrong, with a hint (as for a class file, see
//! `class_errors`). `UPDATE_GOLDEN=1` rewrites the `.stderr` files from
//! what the binary prints.

use crate::harness::Test;

#[test]
fn every_bad_exercise_file_is_refused_at_its_line() {
    crate::harness::bad_files_are_refused("exercise-errors", &["validate", "{}"], 10);
}

#[test]
fn the_shipped_exercises_validate_as_exercises() {
    // Refused before the engine: a misspelt exercise name is a stack's
    // error, and the shipped ones are read (the engine is what fails).
    let out = Test::new().run_env_args(
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
        &["validate", "task1-backend-out"],
    );
    assert!(
        out.stderr
            .contains("Exercise `task1-backend-out` on stack `task1`: its faults (haproxy-backend-left-out) apply"),
        "{}",
        out.stderr
    );
}

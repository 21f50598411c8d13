//! Every bad class file in `tests/class-errors/`: `infractl class up
//! --dry-run` refuses it with exit 2, makes no state, and prints exactly
//! `<case>.stderr`: the class file's line and a caret under what is wrong,
//! as for a stack (see `stack_errors`). `UPDATE_GOLDEN=1` rewrites the
//! `.stderr` files from what the binary prints.

#[test]
fn every_bad_class_file_is_refused_at_its_line() {
    crate::harness::bad_files_are_refused("class-errors", &["class", "up", "{}", "--dry-run"], 10);
}

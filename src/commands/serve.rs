//! `infractl serve`: the classroom portal (`crate::serve`), its start-up
//! lines on stderr as progress notes.

use super::Global;
use crate::error::Result;
use crate::progress::Progress;

pub async fn run(
    options: crate::serve::Options,
    global: &Global,
    progress: &dyn Progress,
) -> Result<i32> {
    crate::serve::run(options, global.clone(), &|line| progress.note(line)).await
}

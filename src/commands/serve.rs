//! `infractl serve`: the classroom portal (`crate::serve`), its start-up
//! lines on stderr as progress notes.

use super::Global;
use crate::error::Result;
use crate::progress::Progress;

pub async fn run(
    args: crate::cli::ServeArgs,
    global: &Global,
    progress: &dyn Progress,
) -> Result<i32> {
    let options = crate::serve::Options {
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
        tls_self: args.tls_self,
    };
    crate::serve::run(options, global.clone(), &|line| progress.note(line)).await
}

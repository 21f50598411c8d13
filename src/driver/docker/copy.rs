//! The node image on an engine: there already, copied through the API
//! from another engine that has it (an export streamed into a load:
//! nothing lands on this machine's disk), or built.

use bollard::Docker;
use futures_util::StreamExt;

use super::endpoint::Endpoint;
use super::engine::{fail, image_exists};
use super::DockerEngine;
use crate::error::{Error, Result};
use crate::progress::Progress;

impl DockerEngine {
    /// Makes sure the node image is there: already, or copied from the
    /// engine the environment names or the local one when it has it, or
    /// built.
    pub async fn ensure_image(&self, progress: &dyn Progress) -> Result<()> {
        if image_exists(&self.docker, &super::image::reference()).await? {
            return Ok(());
        }
        let mut sources = Vec::new();
        for e in [Endpoint::ambient().ok(), Some(Endpoint::local())]
            .into_iter()
            .flatten()
        {
            if !e.same_engine(&self.endpoint)
                && !sources
                    .iter()
                    .any(|s: &DockerEngine| s.endpoint.same_engine(&e))
            {
                if let Ok(s) = DockerEngine::connect(e).await {
                    sources.push(s);
                }
            }
        }
        let sources: Vec<&DockerEngine> = sources.iter().collect();
        self.ensure_image_from(&sources, progress).await
    }

    /// Makes sure the node image is there: already, copied through the
    /// API from the first of `sources` that has it, or built here.
    pub async fn ensure_image_from(
        &self,
        sources: &[&DockerEngine],
        progress: &dyn Progress,
    ) -> Result<()> {
        let reference = super::image::reference();
        if image_exists(&self.docker, &reference).await? {
            return Ok(());
        }
        for source in sources
            .iter()
            .filter(|s| !s.endpoint.same_engine(&self.endpoint))
        {
            if image_exists(&source.docker, &reference)
                .await
                .unwrap_or(false)
            {
                let task = format!("image → {}", self.endpoint);
                return copy_image(&source.docker, &self.docker, &reference, &task, progress).await;
            }
        }
        super::image::ensure(&self.docker, None, false, progress)
            .await
            .map(|_| ())
    }
}

/// Copies the image `reference` from one engine to another through the
/// API (an export streamed into a load: nothing lands on this machine's
/// disk), reporting the megabytes moved as `task`.
pub async fn copy_image(
    from: &Docker,
    to: &Docker,
    reference: &str,
    task: &str,
    progress: &dyn crate::progress::Progress,
) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let doing = format!("copying the image {reference} between engines");
    let total = from
        .inspect_image(reference)
        .await
        .map_err(fail(&doing))?
        .size
        .map(|b| (b.max(0) as u64) / 1_000_000);
    progress.begin(task, total, "copying the node image");
    // The export's error, if it stops short: the load then sees a cut
    // archive and fails, and this says why.
    let broken: Arc<Mutex<Option<bollard::errors::Error>>> = Arc::default();
    let moved = Arc::new(AtomicU64::new(0));
    let export = {
        let (broken, moved) = (broken.clone(), moved.clone());
        from.export_image(reference)
            .take_while(move |chunk| {
                if let Err(e) = chunk {
                    *broken.lock().expect("lock") = Some(clone_error(e));
                }
                std::future::ready(chunk.is_ok())
            })
            .filter_map(move |chunk| {
                let bytes = chunk.ok();
                if let Some(b) = &bytes {
                    moved.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                std::future::ready(bytes)
            })
    };
    let options = bollard::query_parameters::ImportImageOptionsBuilder::new()
        .quiet(true)
        .build();
    let mut load = std::pin::pin!(to.import_image_stream(options, export, None));
    let cut = || {
        broken
            .lock()
            .expect("lock")
            .take()
            .map(|c| Error::caused(format!("{doing}: the export stopped"), c))
    };
    let mut last = 0;
    let result = loop {
        let step = tokio::time::timeout(std::time::Duration::from_secs(1), load.next()).await;
        let mb = moved.load(Ordering::Relaxed) / 1_000_000;
        if mb != last {
            progress.update(task, Some(mb), &format!("copying the node image ({mb} MB)"));
            last = mb;
        }
        match step {
            Err(_) => continue,
            Ok(None) => break cut().map_or(Ok(()), Err),
            // A cut export explains whatever the load says next.
            Ok(Some(_)) if cut_now(&broken) => break Err(cut().expect("cut")),
            Ok(Some(Ok(info))) => {
                if let Some(e) = info.error_detail.and_then(|d| d.message).or(info.error) {
                    break Err(Error::failure(format!(
                        "{doing}: the engine refused it: {e}"
                    )));
                }
            }
            Ok(Some(Err(e))) => break Err(Error::caused(doing.clone(), e)),
        }
    };
    let result = match result {
        Ok(()) if !image_exists(to, reference).await? => Err(Error::failure(format!(
            "{doing}: the engine took the archive but has no {reference}"
        ))),
        r => r,
    };
    let mb = moved.load(Ordering::Relaxed) / 1_000_000;
    match &result {
        Ok(()) => progress.finish(task, true, &format!("node image copied ({mb} MB)")),
        Err(e) => progress.finish(task, false, &e.headline()),
    }
    result
}

fn cut_now(broken: &std::sync::Mutex<Option<bollard::errors::Error>>) -> bool {
    broken.lock().expect("lock").is_some()
}

/// A bollard error kept for later (it is not `Clone`): its message.
fn clone_error(e: &bollard::errors::Error) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: std::io::Error::other(e.to_string()),
    }
}

//! The node image on an engine: there already, copied through the API
//! from another engine that has it (an export streamed into a load:
//! nothing lands on this machine's disk), or built.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bollard::models::BuildInfo;
use bollard::Docker;
use futures_util::StreamExt;

use super::endpoint::Endpoint;
use super::engine::{fail, image_exists};
use super::DockerEngine;
use crate::error::{Error, Result};
use crate::progress::Progress;

impl DockerEngine {
    /// Makes sure the node image is there: already, copied through the
    /// API from the first of `sources` that has it (then of the engine the
    /// environment names and the local one), or built here.
    pub async fn ensure_image_from(
        &self,
        sources: &[&DockerEngine],
        progress: &dyn Progress,
    ) -> Result<()> {
        let reference = super::image::reference();
        if image_exists(&self.docker, &reference).await? {
            return Ok(());
        }
        let mut from = self.first_with_image(sources, &reference).await;
        let others;
        if from.is_none() {
            others = self.others(sources).await;
            let others: Vec<&DockerEngine> = others.iter().collect();
            from = self.first_with_image(&others, &reference).await;
        }
        if let Some(source) = from {
            let task = format!("image → {}", self.endpoint);
            return copy_image(&source.docker, &self.docker, &reference, &task, progress).await;
        }
        super::image::ensure(&self.docker, None, false, progress)
            .await
            .map(|_| ())
    }

    /// The first of `sources` (this engine aside) that has the image.
    async fn first_with_image<'a>(
        &self,
        sources: &[&'a DockerEngine],
        reference: &str,
    ) -> Option<&'a DockerEngine> {
        for source in sources {
            if !source.endpoint.same_engine(&self.endpoint)
                && image_exists(&source.docker, reference)
                    .await
                    .unwrap_or(false)
            {
                return Some(source);
            }
        }
        None
    }

    /// The engine the environment names and the local one, reached, where
    /// they are neither this engine nor among `sources`: where else the
    /// image may already be.
    async fn others(&self, sources: &[&DockerEngine]) -> Vec<DockerEngine> {
        let mut others: Vec<DockerEngine> = Vec::new();
        for e in [Endpoint::ambient().ok(), Some(Endpoint::local())]
            .into_iter()
            .flatten()
        {
            let known = |x: &Endpoint| x.same_engine(&e);
            if known(&self.endpoint)
                || sources.iter().any(|s| known(&s.endpoint))
                || others.iter().any(|s| known(&s.endpoint))
            {
                continue;
            }
            if let Ok(s) = DockerEngine::connect(e).await {
                others.push(s);
            }
        }
        others
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
    let doing = format!("copying the image {reference} between engines");
    let total = from
        .inspect_image(reference)
        .await
        .map_err(fail(&doing))?
        .size
        .map(|b| (b.max(0) as u64) / 1_000_000);
    progress.begin(task, total, "copying the node image");
    let exported = Exported::default();
    let load = to.import_image_stream(
        bollard::query_parameters::ImportImageOptionsBuilder::new()
            .quiet(true)
            .build(),
        exported.of(from, reference),
        None,
    );
    let result = loaded(load, &exported, &doing, task, progress).await;
    let result = match result {
        Ok(()) if !image_exists(to, reference).await? => Err(Error::failure(format!(
            "{doing}: the engine took the archive but has no {reference}"
        ))),
        r => r,
    };
    let mb = exported.mb();
    match &result {
        Ok(()) => progress.finish(task, true, &format!("node image copied ({mb} MB)")),
        Err(e) => progress.finish(task, false, &e.headline()),
    }
    result
}

/// How an export is going, seen by the load that reads it.
#[derive(Default)]
struct Exported {
    /// The export's error, if it stops short: the load then sees a cut
    /// archive and fails, and this says why.
    broken: Arc<Mutex<Option<bollard::errors::Error>>>,
    /// Bytes handed to the load.
    moved: Arc<AtomicU64>,
}

impl Exported {
    /// The export of `reference` from `from`, its bytes counted and its
    /// error (which ends it) kept.
    fn of(
        &self,
        from: &Docker,
        reference: &str,
    ) -> impl futures_util::Stream<Item = bytes::Bytes> + Send + 'static {
        let (broken, moved) = (self.broken.clone(), self.moved.clone());
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
    }

    /// The megabytes moved so far.
    fn mb(&self) -> u64 {
        self.moved.load(Ordering::Relaxed) / 1_000_000
    }

    /// Whether the export stopped short.
    fn cut_now(&self) -> bool {
        self.broken.lock().expect("lock").is_some()
    }

    /// Why the export stopped short, if it did (said once).
    fn cut(&self, doing: &str) -> Option<Error> {
        self.broken
            .lock()
            .expect("lock")
            .take()
            .map(|c| Error::caused(format!("{doing}: the export stopped"), c))
    }
}

/// Follows the `load` of an export to its end, saying the megabytes moved
/// each second they change: what the engine refused, or why the export
/// stopped short (which explains whatever the load says next).
async fn loaded(
    load: impl futures_util::Stream<Item = Result<BuildInfo, bollard::errors::Error>>,
    exported: &Exported,
    doing: &str,
    task: &str,
    progress: &dyn Progress,
) -> Result<()> {
    let mut load = std::pin::pin!(load);
    let mut last = 0;
    loop {
        let step = tokio::time::timeout(std::time::Duration::from_secs(1), load.next()).await;
        let mb = exported.mb();
        if mb != last {
            progress.update(task, Some(mb), &format!("copying the node image ({mb} MB)"));
            last = mb;
        }
        match step {
            Err(_) => continue,
            Ok(None) => return exported.cut(doing).map_or(Ok(()), Err),
            // A cut export explains whatever the load says next.
            Ok(Some(_)) if exported.cut_now() => return Err(exported.cut(doing).expect("cut")),
            Ok(Some(Ok(info))) => {
                if let Some(e) = refusal(info) {
                    return Err(Error::failure(format!(
                        "{doing}: the engine refused it: {e}"
                    )));
                }
            }
            Ok(Some(Err(e))) => return Err(Error::caused(doing, e)),
        }
    }
}

/// What the engine said against a load, if anything.
fn refusal(info: BuildInfo) -> Option<String> {
    info.error_detail.and_then(|d| d.message).or(info.error)
}

/// A bollard error kept for later (it is not `Clone`): its message.
fn clone_error(e: &bollard::errors::Error) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: std::io::Error::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_refusing_a_load_says_why() {
        let info = |json: serde_json::Value| -> BuildInfo {
            serde_json::from_value(json).expect("build info")
        };
        assert_eq!(
            refusal(info(serde_json::json!({"stream": "Loaded image"}))),
            None
        );
        assert_eq!(
            refusal(info(serde_json::json!({"error": "no space left"}))).as_deref(),
            Some("no space left")
        );
        assert_eq!(
            refusal(info(serde_json::json!({
                "errorDetail": {"message": "unexpected EOF"},
                "error": "short"
            })))
            .as_deref(),
            Some("unexpected EOF")
        );
    }

    #[test]
    fn a_cut_export_is_said_once_with_its_cause() {
        let exported = Exported::default();
        assert!(!exported.cut_now());
        assert!(exported.cut("copying").is_none());
        let e = bollard::errors::Error::RequestTimeoutError;
        *exported.broken.lock().expect("lock") = Some(clone_error(&e));
        assert!(exported.cut_now());
        let said = exported.cut("copying").expect("cut");
        assert_eq!(said.headline(), "copying: the export stopped");
        assert!(said.report().contains(&e.to_string()), "{}", said.report());
        assert!(exported.cut("copying").is_none());
        exported.moved.store(2_500_000, Ordering::Relaxed);
        assert_eq!(exported.mb(), 2);
    }
}

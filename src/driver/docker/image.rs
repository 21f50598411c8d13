//! The node image: one image for every server of every stack, holding every
//! program the components use, built from Debian bookworm packages.
//!
//! No registry can be assumed, so the root filesystem is made with
//! debootstrap from the Debian mirror the host's apt already uses, set up
//! for containers (a small init that runs runit's `runsvdir` and stops
//! services cleanly), and imported through the Engine API. The tag is a
//! hash of the recipe: the image is rebuilt only when the recipe changes.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::components::{BASE_PACKAGES, KINDS};
use crate::error::{Context, Error, Result};
use crate::progress::Progress;
use crate::shell::{IMAGE_FINISH, NODE_INIT};

pub const REPOSITORY: &str = "infractl/node";
pub const SUITE: &str = "bookworm";

/// Every package the image holds: the base set and each kind's packages.
pub fn packages() -> Vec<String> {
    let mut v: Vec<String> = BASE_PACKAGES.iter().map(|s| s.to_string()).collect();
    for k in KINDS {
        v.extend(k.packages.iter().map(|s| s.to_string()));
    }
    // The exporters the monitoring client runs beside nginx and MariaDB.
    for e in [
        crate::components::nginx::EXPORTER,
        crate::components::mariadb::EXPORTER,
    ] {
        v.extend(e.program.map(|p| p.package.to_string()));
    }
    v.extend(
        [
            "bind9-utils",
            "sysvinit-utils",
            // For the SSH driver's test hosts, which boot like a VM: a
            // non-root user with sudo, and systemd as their init.
            "sudo",
            "systemd",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v.sort();
    v.dedup();
    v
}

/// Hash of everything that goes into the image.
pub fn recipe_hash() -> String {
    let recipe = format!(
        "{SUITE}\n{}\n{NODE_INIT}\n{IMAGE_FINISH}",
        packages().join(",")
    );
    crate::render::plan::sha256_hex(recipe.as_bytes())[..12].to_string()
}

/// The image reference for the current recipe.
pub fn reference() -> String {
    format!("{REPOSITORY}:{}", recipe_hash())
}

/// The Debian mirror the host's apt uses (deb822 or one-line format).
pub fn host_mirror() -> Option<String> {
    let deb822 =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let mut uri = None;
    for block in deb822.split("\n\n") {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        let suites = field("Suites:").unwrap_or_default();
        if suites.split_whitespace().any(|s| s == SUITE) {
            uri = field("URIs:").and_then(|u| u.split_whitespace().next().map(str::to_string));
            if uri.is_some() {
                break;
            }
        }
    }
    if uri.is_some() {
        return uri;
    }
    let list = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    list.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["deb", url, suite, ..] if *suite == SUITE => Some(url.to_string()),
            _ => None,
        }
    })
}

/// Outcome of [`ensure`].
pub enum Built {
    AlreadyThere(String),
    Built(String),
}

/// Makes sure the image for the current recipe exists, building it if not.
pub async fn ensure(
    docker: &Docker,
    mirror: Option<&str>,
    force: bool,
    progress: &dyn Progress,
) -> Result<Built> {
    let reference = reference();
    if !force && crate::driver::docker::engine::image_exists(docker, &reference).await? {
        return Ok(Built::AlreadyThere(reference));
    }
    // One build at a time on this machine; whoever waited finds it built.
    let lock_path = std::env::temp_dir().join("infractl-image.lock");
    let lock = fs_err::File::create(&lock_path)
        .context("cannot take the image build lock")?
        .into_file();
    if lock.try_lock().is_err() {
        progress.begin(
            "image",
            None,
            "waiting for another infractl building the image",
        );
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|_| lock))
            .await
            .map_err(|e| Error::failure(format!("waiting for the image lock: {e}")))?
            .map_err(|e| {
                Error::caused(
                    format!("cannot take the image build lock {}", lock_path.display()),
                    e,
                )
            })?;
        drop(lock);
        progress.finish("image", true, "the other build finished");
        if !force && crate::driver::docker::engine::image_exists(docker, &reference).await? {
            return Ok(Built::AlreadyThere(reference));
        }
        return Box::pin(ensure(docker, mirror, force, progress)).await;
    }
    build(docker, &reference, mirror, progress).await?;
    drop(lock);
    Ok(Built::Built(reference))
}

async fn build(
    docker: &Docker,
    reference: &str,
    mirror: Option<&str>,
    progress: &dyn Progress,
) -> Result<()> {
    let task = "image";
    let mirror = match mirror {
        Some(m) => m.to_string(),
        None => host_mirror().ok_or_else(|| {
            Error::failure("cannot tell which Debian mirror to build the image from")
                .with_hint("pass `--mirror URL` (a Debian mirror that apt can reach)")
        })?,
    };
    let debootstrap = find_debootstrap()?;
    let work = std::env::temp_dir().join(format!("infractl-image-{}", recipe_hash()));
    let rootfs = work.join("rootfs");
    let doing = "cannot prepare the image's work directory";
    if work.exists() {
        fs_err::remove_dir_all(&work).context(doing)?;
    }
    fs_err::create_dir_all(&work).context(doing)?;
    let _cleanup = RemoveOnDrop(work.clone());

    // debootstrap prints a line per package retrieved, validated, unpacked
    // and configured; count them against an estimate of the total.
    let estimate = 4 * 260u64;
    progress.begin(task, Some(estimate), "debootstrap: starting");
    run_debootstrap(debootstrap, &rootfs, &mirror, estimate, progress).await?;

    progress.update(task, Some(estimate - 1), "preparing the root filesystem");
    finish_rootfs(&rootfs).await?;

    progress.update(task, Some(estimate - 1), &format!("importing {reference}"));
    import(docker, &rootfs, reference).await?;
    progress.finish(task, true, &format!("built {reference}"));
    Ok(())
}

/// Where debootstrap is installed.
fn find_debootstrap() -> Result<&'static str> {
    [
        "/usr/sbin/debootstrap",
        "/sbin/debootstrap",
        "/usr/bin/debootstrap",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .ok_or_else(|| {
        Error::failure(
            "debootstrap is not installed; it builds the node image from Debian packages",
        )
        .with_hint("apt-get install debootstrap")
    })
}

/// Makes the root filesystem from the image's packages, reporting each
/// step debootstrap prints against `estimate`; when it fails, says why
/// with the end of its log.
async fn run_debootstrap(
    debootstrap: &str,
    rootfs: &Path,
    mirror: &str,
    estimate: u64,
    progress: &dyn Progress,
) -> Result<()> {
    let mut child = tokio::process::Command::new(debootstrap)
        .arg("--variant=minbase")
        .arg(format!("--include={}", packages().join(",")))
        .arg(SUITE)
        .arg(rootfs)
        .arg(mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run debootstrap")?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut n = 0u64;
    let mut tail: Vec<String> = Vec::new();
    let reading = "cannot read debootstrap's output";
    while let Some(line) = lines.next_line().await.context(reading)? {
        if let Some(info) = line.strip_prefix("I: ") {
            n += 1;
            progress.update(
                "image",
                Some(n.min(estimate - 1)),
                &format!("debootstrap: {info}"),
            );
        }
        tail.push(line);
        if tail.len() > 15 {
            tail.remove(0);
        }
    }
    let mut err = String::new();
    stderr.read_to_string(&mut err).await.context(reading)?;
    let status = child.wait().await.context("waiting for debootstrap")?;
    if status.success() {
        return Ok(());
    }
    progress.finish("image", false, "debootstrap failed");
    let log = rootfs.join("debootstrap/debootstrap.log");
    let detail = std::fs::read_to_string(&log)
        .map(|l| {
            l.lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|_| tail.join("\n"));
    Err(Error::failure(format!(
        "debootstrap failed ({status}):\n{}\n{detail}",
        err.trim()
    )))
}

/// Installs the node's init in the new root filesystem and runs the
/// finishing commands there (src/shell/image-finish.sh).
async fn finish_rootfs(rootfs: &Path) -> Result<()> {
    let init = rootfs.join("usr/local/sbin/infractl-init");
    {
        use std::os::unix::fs::PermissionsExt;
        let doing = "cannot install the node's init";
        fs_err::write(&init, NODE_INIT).context(doing)?;
        fs_err::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).context(doing)?;
    }
    let out = tokio::process::Command::new("chroot")
        .arg(rootfs)
        .args(["sh", "-c", IMAGE_FINISH])
        .output()
        .await
        .context("cannot run chroot")?;
    if !out.status.success() {
        return Err(Error::failure(format!(
            "preparing the image's root filesystem failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Streams `tar -C rootfs -c .` into the engine as a new image.
async fn import(docker: &Docker, rootfs: &Path, reference: &str) -> Result<()> {
    let (repo, tag) = reference.split_once(':').expect("repo:tag");
    let mut tar = tokio::process::Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let stdout = tar.stdout.take().expect("piped");
    let body = futures_util::stream::unfold(stdout, |mut out| async move {
        let mut buf = vec![0u8; 1 << 20];
        match out.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((bytes::Bytes::from(buf), out))
            }
        }
    });
    let mut options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .message("infractl node image")
        .build();
    options.changes = vec![
        "CMD [\"/usr/local/sbin/infractl-init\"]".to_string(),
        format!("LABEL io.infractl.image={}", recipe_hash()),
        "ENV LANG=C.UTF-8".to_string(),
    ];
    let mut stream = docker.create_image(Some(options), Some(bollard::body_stream(body)), None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| Error::failure(format!("importing the node image: {e}")))?;
    }
    let status = tar.wait().await.context("waiting for tar")?;
    if !status.success() {
        return Err(Error::failure(format!(
            "tar of the root filesystem failed ({status})"
        )));
    }
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An image's `tags` split into those to remove and those it keeps: this
/// version's (`current`) or, with `old`, every other version's, of the
/// node image's repository alone.
fn tags_to_remove(tags: Vec<String>, current: &str, old: bool) -> (Vec<String>, Vec<String>) {
    tags.into_iter()
        .partition(|t| t.starts_with(&format!("{}:", REPOSITORY)) && (t == current) != old)
}

/// `<tags> is in use by N containers: <the first five>`.
fn used_by(gone: &[String], mut users: Vec<String>) -> String {
    users.sort();
    let n = users.len();
    let mut named = users.into_iter().take(5).collect::<Vec<_>>().join(", ");
    if n > 5 {
        named.push_str(&format!(" and {} more", n - 5));
    }
    let s = if n == 1 { "" } else { "s" };
    format!("{} is in use by {n} container{s}: {named}", gone.join(", "))
}

/// What `image rm` says when there was nothing to remove.
fn nothing_to_remove(current: &str, old: bool) -> String {
    if old {
        format!(
            "nothing to remove: no image of another version of infractl ({} is this version's)\n",
            current
        )
    } else {
        format!("nothing to remove: {current} is not on this engine\n")
    }
}

#[async_trait::async_trait]
impl crate::driver::Images for super::DockerEngine {
    async fn build(
        &self,
        mirror: Option<&str>,
        force: bool,
        progress: &dyn Progress,
    ) -> Result<String> {
        Ok(match ensure(&self.docker, mirror, force, progress).await? {
            Built::AlreadyThere(r) => format!("{r} is up to date (the recipe has not changed)\n"),
            Built::Built(r) => format!("built {r}\n"),
        })
    }

    async fn show(&self) -> Result<String> {
        let docker = &self.docker;
        let reference = reference();
        let present = super::engine::image_exists(docker, &reference).await?;
        // The shared directories' volumes, as a container binds them.
        let shared = if present {
            let id = super::shared::image_id(docker, &reference).await?;
            if super::shared::filled(docker, &id).await? {
                super::shared::binds(&id).join(" ")
            } else {
                "not filled yet (the first `up` fills them)".into()
            }
        } else {
            "none yet".into()
        };
        Ok(format!(
            "image:    {reference}\npresent:  {}\nshared:   {shared}\npackages: {}\n",
            if present {
                "yes"
            } else {
                "no (built on first use, or by `infractl image build`)"
            },
            packages().join(" ")
        ))
    }

    /// Removes this version's node image (with `old`, every other version's
    /// instead) and the shared volumes of images no longer on the engine.
    /// Refused, changing nothing, while any container uses an image to remove.
    async fn remove(&self, old: bool) -> Result<String> {
        let docker = &self.docker;
        use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptions};
        use std::collections::HashMap;
        let current = reference();
        let filters = HashMap::from([("reference".to_string(), vec![REPOSITORY.to_string()])]);
        let images = docker
            .list_images(Some(
                ListImagesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(super::engine::fail("listing images"))?;
        // Per image, the tags to remove; an image that keeps another tag is
        // only untagged, and only one that goes must be unused.
        let mut targets: Vec<String> = vec![];
        let mut in_use = vec![];
        for image in images {
            let (gone, kept) = tags_to_remove(image.repo_tags, &current, old);
            if gone.is_empty() {
                continue;
            }
            if kept.is_empty() {
                let users = super::engine::containers_of_image(docker, &image.id).await?;
                if !users.is_empty() {
                    in_use.push(used_by(&gone, users));
                }
            }
            targets.extend(gone);
        }
        targets.sort();
        // Every image checked before any is removed: a refusal changes nothing.
        if !in_use.is_empty() {
            return Err(crate::error::Error::failure(in_use.join("; ")).with_hint(
                "`infractl status` lists the labs; `infractl down LAB` removes one; then run this again",
            ));
        }
        let mut said = String::new();
        for t in &targets {
            docker
                .remove_image(t, None::<RemoveImageOptions>, None)
                .await
                .map_err(super::engine::fail(&format!("removing image {t}")))?;
            said.push_str(&format!("removed image {t}\n"));
        }
        // The volumes of images still here (this version's, after --old) stay.
        for v in super::shared::prune(docker, "").await {
            said.push_str(&format!("removed volume {v}\n"));
        }
        if said.is_empty() {
            said = nothing_to_remove(&current, old);
        }
        Ok(said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_holds_every_kind_package_and_is_stable() {
        let p = packages();
        for k in KINDS {
            for pkg in k.packages {
                assert!(p.iter().any(|x| x == pkg), "{pkg} of {} missing", k.name);
            }
        }
        assert_eq!(recipe_hash(), recipe_hash());
        assert_eq!(recipe_hash().len(), 12);
        assert!(reference().starts_with("infractl/node:"));
    }

    #[test]
    fn this_versions_image_or_every_other_versions_is_removed() {
        let current = format!("{REPOSITORY}:aaa");
        let tags = || {
            vec![
                format!("{REPOSITORY}:aaa"),
                format!("{REPOSITORY}:bbb"),
                "debian:bookworm".to_string(),
            ]
        };
        let (gone, kept) = tags_to_remove(tags(), &current, false);
        assert_eq!(gone, [format!("{REPOSITORY}:aaa")]);
        assert_eq!(kept.len(), 2);
        let (gone, kept) = tags_to_remove(tags(), &current, true);
        assert_eq!(gone, [format!("{REPOSITORY}:bbb")]);
        assert_eq!(
            kept,
            [format!("{REPOSITORY}:aaa"), "debian:bookworm".to_string()]
        );
        // Another repository whose name begins the same is not ours.
        let (gone, _) = tags_to_remove(vec![format!("{REPOSITORY}-x:aaa")], &current, true);
        assert!(gone.is_empty());
    }

    #[test]
    fn an_image_in_use_names_its_first_containers() {
        let gone = ["infractl/node:aaa".to_string()];
        assert_eq!(
            used_by(&gone, vec!["bob-web".into()]),
            "infractl/node:aaa is in use by 1 container: bob-web"
        );
        let users: Vec<String> = (1..=7).rev().map(|i| format!("lab{i}-web")).collect();
        assert_eq!(
            used_by(&gone, users),
            "infractl/node:aaa is in use by 7 containers: lab1-web, lab2-web, lab3-web, lab4-web, lab5-web and 2 more"
        );
        assert_eq!(
            nothing_to_remove("infractl/node:aaa", false),
            "nothing to remove: infractl/node:aaa is not on this engine\n"
        );
        assert!(nothing_to_remove("infractl/node:aaa", true)
            .contains("(infractl/node:aaa is this version's)"));
    }
}

//! Files into containers: a tar archive through the Engine API, each
//! file with its mode and its owner's ids (read once from the node's
//! `/etc/passwd` and `/etc/group`, see [`Owners`]). Into a running
//! container they are staged and renamed into place, so that a service
//! reading one meanwhile sees the old file or the new one, whole; a
//! container about to start takes them on its input instead.

use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::engine::fail;
use super::exec::exec;
use crate::driver::archive::{tar_of, tar_with_dirs, Owners};
use crate::error::{Error, Result};
use crate::render::plan::FileSpec;
use crate::shell::shell_quote;

/// The users and groups of a container (created or running), read from
/// its `/etc/passwd` and `/etc/group` through the archive API.
pub async fn owners_of(docker: &Docker, container: &str) -> Result<Owners> {
    let passwd = read_file(docker, container, "/etc/passwd").await?;
    let group = read_file(docker, container, "/etc/group").await?;
    Ok(Owners::parse(&passwd, &group))
}

/// One file's text from a container, created or running.
async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<String> {
    let doing = format!("reading {path} of {container}");
    let mut stream = docker.download_from_container(
        container,
        Some(
            bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
                .path(path)
                .build(),
        ),
    );
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        archive.extend_from_slice(&chunk.map_err(fail(&doing))?);
    }
    text_of(&archive, &doing)
}

/// The text of the files of a tar `archive`, one after the other.
fn text_of(archive: &[u8], doing: &str) -> Result<String> {
    let mut tar = tar::Archive::new(archive);
    let mut text = String::new();
    let entries = tar
        .entries()
        .map_err(|e| Error::failure(format!("{doing}: {e}")))?;
    for entry in entries {
        use std::io::Read;
        entry
            .and_then(|mut e| e.read_to_string(&mut text))
            .map_err(|e| Error::failure(format!("{doing}: {e}")))?;
    }
    Ok(text)
}

/// Copies `files` into the container at their absolute paths, with their
/// modes and owners.
pub async fn put_files(
    docker: &Docker,
    container: &str,
    files: &[FileSpec],
    owners: Option<&Owners>,
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let read;
    let owners = match owners {
        Some(o) => o,
        None => {
            read = owners_of(docker, container).await?;
            &read
        }
    };
    let running = docker
        .inspect_container(
            container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(fail(&format!("inspecting {container}")))?
        .state
        .and_then(|s| s.running)
        .unwrap_or(false);
    if !running {
        // Nothing runs to read the files: they go where they belong.
        return upload(docker, container, tar_of(files, Some(owners))?).await;
    }
    // The engine writes an archive's files where they go, in place: a
    // service reading one meanwhile (a DNS server loading its zone as it
    // starts) would read half a file. So the files land in a staging
    // directory, each directory's in one of its own, and are renamed into
    // place: a reader sees the old file or the new one, whole.
    static PUTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stage = format!("/var/tmp/infractl-put-{}-{n}", std::process::id());
    let (dirs, staged, script) = staging(files, &stage);
    upload(
        docker,
        container,
        tar_with_dirs(&dirs, &staged, Some(owners))?,
    )
    .await?;
    let out = exec(docker, container, &script).await?;
    if out.code != 0 {
        return Err(Error::failure(format!(
            "cannot move the files into place in {container}: {}",
            out.message()
        )));
    }
    Ok(())
}

/// `files` staged under `stage`: the staging directories, the files at
/// their staged paths, and the script that renames them into place (one
/// `mv` a directory) and removes the stage.
fn staging(files: &[FileSpec], stage: &str) -> (Vec<String>, Vec<FileSpec>, String) {
    let mut dirs = vec![stage.to_string()];
    let mut staged = Vec::new();
    let mut script = String::from("set -e\n");
    for (k, (dir, paths)) in crate::render::plan::paths_by_dir(files).iter().enumerate() {
        let at = format!("{stage}/{k}");
        dirs.push(at.clone());
        let mut moved = Vec::new();
        for f in files.iter().filter(|f| paths.contains(&f.path.as_str())) {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            staged.push(FileSpec {
                path: format!("{at}/{name}"),
                ..f.clone()
            });
            moved.push(shell_quote(&format!("{at}/{name}")));
        }
        let dir = shell_quote(dir);
        script.push_str(&format!(
            "mkdir -p {dir}\nmv -f -t {dir} {}\n",
            moved.join(" ")
        ));
    }
    script.push_str(&format!("rm -rf {}\n", shell_quote(stage)));
    (dirs, staged, script)
}

/// `tar` made of whole records of 10 KiB, as tar writes them: tar reading
/// a pipe fills a record before it looks at it, so the archive's end is
/// seen without waiting for the input to close.
pub fn whole_records(tar: &mut Vec<u8>) {
    tar.resize(tar.len().div_ceil(10240) * 10240, 0);
}

/// Unpacks `tar` at the container's root.
async fn upload(docker: &Docker, container: &str, tar: Vec<u8>) -> Result<()> {
    docker
        .upload_to_container(
            container,
            Some(UploadToContainerOptionsBuilder::new().path("/").build()),
            bollard::body_full(tar.into()),
        )
        .await
        .map_err(fail(&format!("copying files into {container}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_are_renamed_into_place_a_directory_at_a_time() {
        let file = |path: &str| FileSpec {
            path: path.into(),
            mode: 0o640,
            owner: Some("root:bind".into()),
            sha256: String::new(),
            secret: false,
            content: b"x".to_vec(),
        };
        let files = [
            file("/etc/bind/named.conf"),
            file("/var/lib/bind/db.x"),
            file("/etc/bind/b c"),
        ];
        let (dirs, staged, script) = staging(&files, "/var/tmp/s");
        assert_eq!(dirs, ["/var/tmp/s", "/var/tmp/s/0", "/var/tmp/s/1"]);
        let paths: Vec<&str> = staged.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/var/tmp/s/0/named.conf",
                "/var/tmp/s/0/b c",
                "/var/tmp/s/1/db.x"
            ]
        );
        assert!(staged
            .iter()
            .all(|f| f.mode == 0o640 && f.owner.as_deref() == Some("root:bind")));
        assert_eq!(
            script,
            "set -e\nmkdir -p /etc/bind\nmv -f -t /etc/bind /var/tmp/s/0/named.conf '/var/tmp/s/0/b c'\n\
             mkdir -p /var/lib/bind\nmv -f -t /var/lib/bind /var/tmp/s/1/db.x\nrm -rf /var/tmp/s\n"
        );
    }

    #[test]
    fn an_archive_on_a_containers_input_is_whole_records() {
        let mut tar = vec![1u8; 10];
        whole_records(&mut tar);
        assert_eq!(tar.len(), 10240);
        assert_eq!(&tar[..11], &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        let mut exact = vec![1u8; 20480];
        whole_records(&mut exact);
        assert_eq!(exact.len(), 20480);
        let mut empty = vec![];
        whole_records(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn a_file_read_from_a_container_is_the_text_in_its_archive() {
        let file = FileSpec {
            path: "/etc/passwd".into(),
            mode: 0o644,
            owner: None,
            sha256: String::new(),
            secret: false,
            content: b"root:x:0:0::/root:/bin/sh\n".to_vec(),
        };
        let archive = tar_of(&[file], None).expect("tar");
        assert_eq!(
            text_of(&archive, "reading").expect("text"),
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert_eq!(text_of(&[], "reading").expect("nothing"), "");
    }
}

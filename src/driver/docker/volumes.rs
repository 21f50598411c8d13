//! What a lab's servers keep apart from their containers (see
//! `plan::Keep`): a Docker volume per kept directory, named after the
//! server (`<lab>-<server>-<name>`) and labelled with what it keeps and
//! whose data it is, so that it outlives the container made again and goes
//! with the lab. The image's shared volumes (`shared`) are no lab's.

use bollard::models::{MountPoint, Volume};
use bollard::query_parameters::ListVolumesOptionsBuilder;

use super::engine::fail;
use super::names::{
    label_filter, volume_labels, volume_name, LABEL_HOLDS, LABEL_PATH, LABEL_SERVER, LABEL_WHAT,
};
use super::DockerDriver;
use crate::driver::{Keeper, Kept};
use crate::error::{Error, Result};
use crate::render::plan::{Keep, Plan, ServerPlan};

/// The directories of a container kept in volumes of its lab (those named
/// after it; the image's shared volumes are under /usr).
pub(super) fn kept_mounts(container: &str, mounts: &[MountPoint]) -> Vec<String> {
    let prefix = format!("{container}-");
    mounts
        .iter()
        .filter(|m| m.name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
        .filter_map(|m| m.destination.clone())
        .filter(|d| !d.starts_with("/usr/"))
        .collect()
}

/// What a volume of the lab keeps, read from its labels; `None` for a
/// volume that is no server's kept directory.
fn kept_of(v: Volume) -> Option<Kept> {
    let label = |l: &str| v.labels.get(l).cloned();
    Some(Kept {
        server: label(LABEL_SERVER)?,
        path: label(LABEL_PATH)?,
        what: label(LABEL_WHAT).unwrap_or_default(),
        holds: label(LABEL_HOLDS).unwrap_or_default(),
        handle: v.name,
    })
}

impl DockerDriver {
    /// The volume keeping `keep` of `server`, made if it is not there. A
    /// fresh volume is filled from the image's directory as the container
    /// first mounts it (the engine's copy for named volumes): a database
    /// server starts from Debian's initialised data directory, as before.
    /// One that holds another's data (the primary's, now a replica's:
    /// decided and said by `reconcile`, and dropped by `up`; here in case
    /// it came back since) is made anew.
    pub(super) async fn data_volume(
        &self,
        plan: &Plan,
        server: &ServerPlan,
        keep: &Keep,
    ) -> Result<String> {
        let name = volume_name(&plan.stack, &server.name, &keep.name);
        let options = bollard::models::VolumeCreateOptions {
            name: Some(name.clone()),
            labels: Some(volume_labels(plan, server, keep)),
            ..Default::default()
        };
        let doing = format!("creating volume {name}");
        // The engine hands back the volume of that name when there is one.
        let made = self
            .docker
            .create_volume(options.clone())
            .await
            .map_err(fail(&doing))?;
        if made.labels.get(LABEL_HOLDS) != Some(&keep.holds) {
            self.remove_volume(&name).await?;
            self.docker
                .create_volume(options)
                .await
                .map_err(fail(&doing))?;
        }
        Ok(name)
    }

    /// Removes the volume `name`; one gone already is fine.
    pub(super) async fn remove_volume(&self, name: &str) -> Result<()> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(Error::failure(format!("removing volume {name}: {e}"))),
        }
    }

    /// The lab's volumes on the engine.
    async fn lab_volumes(&self) -> Result<Vec<Volume>> {
        let vols = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new()
                    .filters(&label_filter(&self.lab))
                    .build(),
            ))
            .await
            .map_err(fail("listing volumes"))?;
        Ok(vols.volumes.unwrap_or_default())
    }

    /// Removes every volume of the lab (its servers gone); their names.
    pub(super) async fn remove_lab_volumes(&self) -> Result<Vec<String>> {
        let mut volumes = Vec::new();
        for v in self.lab_volumes().await? {
            self.docker
                .remove_volume(
                    &v.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await
                .map_err(fail(&format!("removing volume {}", v.name)))?;
            volumes.push(v.name);
        }
        Ok(volumes)
    }
}

#[async_trait::async_trait]
impl Keeper for DockerDriver {
    async fn kept(&self) -> Result<Vec<Kept>> {
        Ok(self
            .lab_volumes()
            .await?
            .into_iter()
            .filter_map(kept_of)
            .collect())
    }

    async fn drop_kept(&self, kept: &[Kept]) -> Result<()> {
        for k in kept {
            self.remove_volume(&k.handle).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_of_the_lab_says_what_it_keeps() {
        let v: Volume = serde_json::from_value(serde_json::json!({
            "Name": "alice-db-01-mysql",
            "Driver": "local",
            "Mountpoint": "/var/lib/docker/volumes/alice-db-01-mysql/_data",
            "Labels": {
                "io.infractl.lab": "alice",
                "io.infractl.server": "db-01",
                "io.infractl.path": "/var/lib/mysql",
                "io.infractl.what": "database",
                "io.infractl.holds": "the primary's own writes"
            },
            "Scope": "local",
            "Options": {}
        }))
        .expect("a volume");
        assert_eq!(
            kept_of(v.clone()),
            Some(Kept {
                server: "db-01".into(),
                path: "/var/lib/mysql".into(),
                what: "database".into(),
                holds: "the primary's own writes".into(),
                handle: "alice-db-01-mysql".into(),
            })
        );
        // Without what and whose: kept all the same, said plainly.
        let mut bare = v.clone();
        bare.labels
            .retain(|k, _| k != LABEL_WHAT && k != LABEL_HOLDS);
        let k = kept_of(bare).expect("kept");
        assert_eq!((k.what.as_str(), k.holds.as_str()), ("", ""));
        // No server or no directory: not a kept directory.
        for label in [LABEL_SERVER, LABEL_PATH] {
            let mut other = v.clone();
            other.labels.remove(label);
            assert_eq!(kept_of(other), None, "{label}");
        }
    }

    #[test]
    fn a_containers_kept_directories_are_its_own_volumes_off_usr() {
        let mount = |name: Option<&str>, at: &str| MountPoint {
            name: name.map(str::to_string),
            destination: Some(at.to_string()),
            ..Default::default()
        };
        let mounts = [
            mount(Some("alice-db-01-mysql"), "/var/lib/mysql"),
            mount(Some("alice-db-01-prom"), "/var/lib/prometheus"),
            mount(Some("alice-db-011-mysql"), "/srv/other"),
            mount(Some("alice-db-01-odd"), "/usr/lib/x"),
            mount(Some("infractl-usr-0123456789ab-bin"), "/usr/bin"),
            mount(None, "/run"),
        ];
        assert_eq!(
            kept_mounts("alice-db-01", &mounts),
            ["/var/lib/mysql", "/var/lib/prometheus"]
        );
        assert!(kept_mounts("alice-web-01", &mounts).is_empty());
    }
}

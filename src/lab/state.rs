//! Per-stack state: generated passwords, the lab's certificate authority and
//! the site certificate.
//!
//! Lives under `$XDG_STATE_HOME/infractl/<stack>/` (or `~/.local/state/...`,
//! or `--state-dir`), directories 0700 and files 0600. Secrets are created
//! once and reused, so rendering the same stack twice gives the same files.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fs_err as fs;
use fs_err::os::unix::fs::OpenOptionsExt;
use rand::distr::{Alphanumeric, SampleString};

use crate::error::{Context, Error, Result};

/// The secrets a plan needs.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The application's database password.
    pub db_app: String,
    /// The replication user's password.
    pub db_replication: String,
    /// The mysqld exporter's password.
    pub db_exporter: String,
    /// TLS material, when the stack serves HTTPS.
    pub tls: Option<TlsMaterial>,
    /// The DNS zone's serial (see [`StateDir::zone_serial`]); None: the
    /// one the records give (`components::dns::first_serial`).
    pub zone_serial: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub ca_cert: String,
    pub cert: String,
    pub key: String,
}

/// The state root: `--state-dir`, else `$INFRACTL_STATE_DIR`, else
/// `$XDG_STATE_HOME/infractl`, else `~/.local/state/infractl`.
pub fn root(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("INFRACTL_STATE_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_STATE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("infractl");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".local/state/infractl")
}

/// The state directory of one stack.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub path: PathBuf,
}

impl StateDir {
    pub fn new(root: &Path, stack: &str) -> Self {
        StateDir {
            path: root.join(stack),
        }
    }

    /// The lab's name: the last part of the path.
    fn lab(&self) -> String {
        self.path
            .file_name()
            .map_or_else(|| "?".into(), |s| s.to_string_lossy().into_owned())
    }

    /// `sub` (or the stack's directory itself, for ""), made 0700.
    pub(crate) fn ensure_dir(&self, sub: &str) -> Result<PathBuf> {
        let dir = match sub {
            "" => self.path.clone(),
            sub => self.path.join(sub),
        };
        let doing = || format!("cannot create the state directory of lab `{}`", self.lab());
        fs::create_dir_all(&dir).with_context(doing)?;
        for d in [&self.path, &dir] {
            fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).with_context(doing)?;
        }
        Ok(dir)
    }

    /// Reads a secret, creating it with `make` when absent.
    fn secret(
        &self,
        sub: &str,
        name: &str,
        make: impl FnOnce() -> Result<String>,
    ) -> Result<String> {
        let dir = self.ensure_dir(sub)?;
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let value = make()?;
                write_private(&path, value.as_bytes())
                    .with_context(|| format!("cannot save a secret of lab `{}`", self.lab()))?;
                Ok(value)
            }
            Err(e) => Err(Error::caused(
                format!("cannot read a secret of lab `{}`", self.lab()),
                e,
            )),
        }
    }

    fn password(&self, name: &str) -> Result<String> {
        self.secret("secrets", &format!("{name}.password"), || {
            Ok(Alphanumeric.sample_string(&mut rand::rng(), 24))
        })
    }

    /// Takes the stack's lock for `what` (`up`, `down`): one such command
    /// per stack at a time. Released when the guard drops.
    pub fn lock(&self, what: &str) -> Result<StackLock> {
        self.ensure_dir("")?;
        let path = self.path.join("lock");
        let stack = self.lab();
        let doing = || format!("cannot take the lock of lab `{stack}`");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(doing)?;
        if file.try_lock().is_err() {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            return Err(Error::failure(format!(
                "lab `{stack}` is busy: {} is working on it",
                holder
                    .trim()
                    .to_string()
                    .chars()
                    .take(80)
                    .collect::<String>()
            ))
            .with_hint("wait for it to finish, then run this again"));
        }
        file.set_len(0).with_context(doing)?;
        writeln!(file, "`infractl {what}` (pid {})", std::process::id()).with_context(doing)?;
        Ok(StackLock {
            _file: file.into_file(),
        })
    }

    /// Loads the stack's secrets, generating what is missing.
    pub fn secrets(&self, stack: &str, tls_names: Option<&[String]>) -> Result<Secrets> {
        let tls = match tls_names {
            None => None,
            Some(names) => Some(self.tls(stack, names)?),
        };
        Ok(Secrets {
            db_app: self.password("db-app")?,
            db_replication: self.password("db-replication")?,
            db_exporter: self.password("db-exporter")?,
            tls,
            zone_serial: None,
        })
    }

    /// The DNS zone's serial for records whose digest is `digest`: the one
    /// kept while they stay the same, one more when they change (a
    /// secondary transfers the zone only for a greater serial); `first`
    /// the first time.
    pub fn zone_serial(&self, digest: &str, first: u32) -> Result<u32> {
        let dir = self.ensure_dir("dns")?;
        let path = dir.join("serial");
        let kept = fs::read_to_string(&path).ok().and_then(|t| {
            let (d, s) = t.trim().split_once(' ')?;
            Some((d.to_string(), s.parse::<u32>().ok()?))
        });
        let serial = match kept {
            Some((d, s)) if d == digest => return Ok(s),
            // Serial arithmetic (RFC 1982) wraps; 0 is skipped.
            Some((_, s)) => s.wrapping_add(1).max(1),
            None => first,
        };
        write_private(&path, format!("{digest} {serial}\n").as_bytes())
            .with_context(|| format!("cannot keep the zone's serial of lab `{}`", self.lab()))?;
        Ok(serial)
    }

    /// The lab CA and the site certificate for `names`; made anew when the
    /// names change.
    fn tls(&self, stack: &str, names: &[String]) -> Result<TlsMaterial> {
        let dir = self.ensure_dir("tls")?;
        let want = names.join("\n") + "\n";
        let have = fs::read_to_string(dir.join("names")).unwrap_or_default();
        let files = ["ca.crt", "ca.key", "site.crt", "site.key"];
        if have != want || !files.iter().all(|f| dir.join(f).exists()) {
            let (m, ca_key) = make_certificates(&format!("infractl lab CA ({stack})"), names)?;
            (|| {
                write_private(&dir.join("ca.crt"), m.ca_cert.as_bytes())?;
                write_private(&dir.join("ca.key"), ca_key.as_bytes())?;
                write_private(&dir.join("site.crt"), m.cert.as_bytes())?;
                write_private(&dir.join("site.key"), m.key.as_bytes())?;
                write_private(&dir.join("names"), want.as_bytes())
            })()
            .with_context(|| format!("cannot save the certificates of lab `{stack}`"))?;
        }
        let read = |f: &str| {
            fs::read_to_string(dir.join(f))
                .with_context(|| format!("cannot read the certificates of lab `{stack}`"))
        };
        Ok(TlsMaterial {
            ca_cert: read("ca.crt")?,
            cert: read("site.crt")?,
            key: read("site.key")?,
        })
    }

    /// The site's certificate as it was last year: the lab CA signs it,
    /// for the names it has now, and it expired 30 days ago (certificate
    /// then key, one PEM).
    pub fn expired_site_certificate(&self) -> Result<String> {
        let dir = self.path.join("tls");
        let lab = self.lab();
        let read = |f: &str| fs::read_to_string(dir.join(f));
        let (Ok(ca_cert), Ok(ca_key), Ok(names)) = (read("ca.crt"), read("ca.key"), read("names"))
        else {
            return Err(Error::failure(format!(
                "lab `{lab}` keeps no CA key to sign a certificate with (its certificates were made by an older infractl)"
            ))
            .with_hint(format!(
                "`infractl up {lab}` makes the lab's certificates anew, with the key kept"
            )));
        };
        let names: Vec<String> = names.lines().map(str::to_string).collect();
        expired_certificate(&ca_cert, &ca_key, &names)
    }
}

/// Holds a stack's lock while alive.
pub struct StackLock {
    _file: std::fs::File,
}

/// Writes `data` to `path` (0600) through a temporary file and a rename,
/// so a reader never sees half a secret. Errors name the file.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path)
}

/// A CA (named `ca_name`) and a server certificate it signs for `names`
/// (host names, or addresses); with the CA's key.
pub(crate) fn make_certificates(ca_name: &str, names: &[String]) -> Result<(TlsMaterial, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| Error::failure(format!("cannot create the lab certificates: {e}"));
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.distinguished_name
        .push(DnType::OrganizationName, "infractl");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let issuer = CertifiedIssuer::self_signed(ca, ca_key).map_err(err)?;

    let key = KeyPair::generate().map_err(err)?;
    let leaf = server_params(names).map_err(err)?;
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    let material = TlsMaterial {
        ca_cert: issuer.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    };
    Ok((material, issuer.key().serialize_pem()))
}

/// A server certificate's parameters for `names` (the first its common
/// name).
fn server_params(names: &[String]) -> std::result::Result<rcgen::CertificateParams, rcgen::Error> {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose};
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name
        .push(DnType::CommonName, names[0].clone());
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    Ok(leaf)
}

/// A server certificate for `names` that `ca_cert` (its key `ca_key`)
/// signs, valid for a year that ended 30 days ago: certificate then key,
/// as one PEM (HAProxy's `crt`).
pub(crate) fn expired_certificate(ca_cert: &str, ca_key: &str, names: &[String]) -> Result<String> {
    use rcgen::{Issuer, KeyPair};
    let err = |e: rcgen::Error| Error::failure(format!("cannot make the expired certificate: {e}"));
    let issuer =
        Issuer::from_ca_cert_pem(ca_cert, KeyPair::from_pem(ca_key).map_err(err)?).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = server_params(names).map_err(err)?;
    let ended = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    leaf.not_after = ended;
    leaf.not_before = ended - time::Duration::days(365);
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    Ok(format!("{}{}", cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_serial_stays_with_its_records_and_grows_when_they_change() {
        let tmp = tempfile::tempdir().unwrap();
        let st = StateDir::new(tmp.path(), "t");
        assert_eq!(st.zone_serial("aaa", 90).unwrap(), 90);
        assert_eq!(st.zone_serial("aaa", 5).unwrap(), 90, "kept");
        assert_eq!(st.zone_serial("bbb", 5).unwrap(), 91, "one more");
        assert_eq!(st.zone_serial("aaa", 5).unwrap(), 92, "never back");
        std::fs::write(tmp.path().join("t/dns/serial"), "ccc 4294967295\n").unwrap();
        assert_eq!(st.zone_serial("ddd", 5).unwrap(), 1, "wraps past 0");
        let mode = std::fs::metadata(tmp.path().join("t/dns/serial"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// What `openssl verify` says of `pem` (a certificate) against `ca`.
    fn verified(dir: &Path, ca: &str, pem: &str) -> String {
        fs::write(dir.join("ca.pem"), ca).unwrap();
        fs::write(dir.join("leaf.pem"), pem).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["verify", "-CAfile", "ca.pem", "leaf.pem"])
            .current_dir(dir)
            .output()
            .expect("openssl");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        text.trim().to_string()
    }

    #[test]
    fn the_expired_certificate_is_the_lab_cas_for_the_sites_names_and_expired() {
        let tmp = tempfile::tempdir().unwrap();
        let st = StateDir::new(tmp.path(), "t");
        let e = st.expired_site_certificate().unwrap_err();
        assert!(e.report().contains("keeps no CA key"), "{}", e.report());
        assert!(e.report().contains("`infractl up t`"), "{}", e.report());
        let names = vec!["www.foobar.com".to_string(), "foobar.com".to_string()];
        let tls = st.secrets("t", Some(&names)).unwrap().tls.unwrap();
        assert_eq!(
            verified(tmp.path(), &tls.ca_cert, &tls.cert),
            "leaf.pem: OK"
        );
        let pem = st.expired_site_certificate().unwrap();
        assert!(pem.contains("-----BEGIN PRIVATE KEY-----"), "{pem}");
        // Signed by the lab CA (the chain holds), but expired: error 10.
        let v = verified(tmp.path(), &tls.ca_cert, &pem);
        assert!(v.contains("certificate has expired"), "{v}");
        let other = make_certificates("another CA", &names).unwrap().0;
        let v = verified(tmp.path(), &other.ca_cert, &pem);
        assert!(!v.contains("OK") && !v.contains("expired"), "{v}");
        let subject = std::process::Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-ext",
                "subjectAltName",
                "-in",
                "leaf.pem",
            ])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let subject = String::from_utf8_lossy(&subject.stdout);
        assert!(
            subject.contains("DNS:www.foobar.com, DNS:foobar.com"),
            "{subject}"
        );
    }

    #[test]
    fn secrets_are_created_once_with_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let st = StateDir::new(tmp.path(), "t");
        let names = vec!["www.foobar.com".to_string(), "foobar.com".to_string()];
        let a = st.secrets("t", Some(&names)).unwrap();
        let b = st.secrets("t", Some(&names)).unwrap();
        assert_eq!(a.db_app, b.db_app);
        assert_eq!(a.db_app.len(), 24);
        assert_ne!(a.db_app, a.db_replication);
        assert_eq!(a.tls.as_ref().unwrap().cert, b.tls.as_ref().unwrap().cert);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&st.path.join("secrets/db-app.password")), 0o600);
        assert_eq!(mode(&st.path.join("tls/site.key")), 0o600);
        assert_eq!(mode(&st.path.join("tls/ca.key")), 0o600);
        assert_eq!(mode(&st.path), 0o700);
        assert!(a
            .tls
            .unwrap()
            .cert
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn a_secret_that_cannot_be_written_names_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let st = StateDir::new(tmp.path(), "t");
        // A directory where the password's temporary file goes: no write,
        // even for root.
        let blocker = st.path.join("secrets/db-app.tmp");
        std::fs::create_dir_all(&blocker).unwrap();
        let report = st.secrets("t", None).unwrap_err().report();
        assert_eq!(
            report,
            format!(
                "error: cannot save a secret of lab `t`\n  Caused by: failed to open file `{}`\n  Caused by: Is a directory (os error 21)\n",
                blocker.display()
            )
        );
    }
}

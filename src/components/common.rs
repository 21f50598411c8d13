//! What every server gets whatever its components: its identity file and an
//! SSH server (a real host has one; the firewall's admin rule reaches it).

use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};

const HOST_KEY: &str = "/etc/ssh/ssh_host_ed25519_key";

pub fn render(ctx: &Ctx, out: &mut Out) -> Result<()> {
    let roles: Vec<&str> = ctx.node.roles.iter().map(|r| r.as_str()).collect();
    out.file(
        "/etc/infractl/server.env",
        0o644,
        format!(
            "STACK={}\nSERVER={}\nROLES={}\nDOMAIN={}\n",
            ctx.topo.stack.name,
            ctx.name(),
            roles.join(","),
            ctx.domain()
        ),
    );
    out.service(Service {
        name: "ssh".into(),
        // An Ed25519 host key of its own (milliseconds to make, where RSA
        // keys take seconds of CPU on every new server).
        pre: vec![
            "install -d -m 0755 /run/sshd".into(),
            format!("[ -f {HOST_KEY} ] || ssh-keygen -q -t ed25519 -N '' -f {HOST_KEY}"),
        ],
        command: vec![
            "/usr/sbin/sshd".into(),
            "-D".into(),
            "-e".into(),
            "-o".into(),
            format!("HostKey={HOST_KEY}"),
            // Keys only: an administrators' host answers SSH from anywhere.
            "-o".into(),
            "PasswordAuthentication=no".into(),
        ],
        user: None,
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![],
        host_provides: true,
        replaces: vec![],
    });
    // sshd writes its pid file once it listens. A connection to test it
    // would cost a whole sshd process (it starts one anew for each), on
    // every server at every boot; `nc` stays for an sshd started another
    // way (a systemd socket).
    out.probe(
        "ssh",
        "{ read -r p < /run/sshd.pid && kill -0 \"$p\"; } 2>/dev/null || nc -z 127.0.0.1 22",
        "SSH listening on port 22",
    );
    Ok(())
}

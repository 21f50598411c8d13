//! Failover claims: the virtual IP is held by one load balancer, the one
//! of highest priority; killed, the site keeps answering on the address
//! through another within the bound; restored, it holds the address again.
//! A failed one's hint points at who holds the address (`ip -br addr`),
//! the members' keepalived configuration and their logs.

use std::time::{Duration, Instant};

use super::claim::{log_of, service_state, verdict};
use super::verifier::Verifier;
use crate::components::keepalived::CONF;
use crate::components::ToProve;
use crate::words::and_list;

use crate::error::Result;
use crate::progress::Progress;

/// How long the site may be away when the active load balancer dies.
pub const FAILOVER_BOUND_MS: u64 = 1000;

/// Who holds the address, in words: `nobody`, or their names.
fn holders_words(holders: &[String]) -> String {
    if holders.is_empty() {
        "nobody".into()
    } else {
        holders.join(", ")
    }
}

/// What the failover poll saw: how long the site was away (None when it
/// never came back), and the load balancer that answered after.
fn read_gap(stdout: &str) -> (Option<u64>, String) {
    let mut lines = stdout.lines();
    let gap = lines.next().and_then(|l| l.trim().parse::<u64>().ok());
    let via = lines
        .next()
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    (gap, via)
}

/// What the claim that the site survives a kill expects.
fn survives() -> String {
    format!("within {FAILOVER_BOUND_MS} ms, through another load balancer")
}

/// Where to look when `address` is not held by the first of `members`
/// alone: who holds it, and the members' configurations and logs.
fn held_hint(address: &str, members: &[String]) -> String {
    format!(
        "On {}, `ip -br addr` shows which holds {address}; compare their `{CONF}` (state, priority, virtual_router_id) \
         and their logs (`tail {}`)",
        and_list(members),
        log_of("keepalived")
    )
}

/// Where to look when the site does not answer on `address` through
/// another of `members` once `victim` is killed.
fn survives_hint(address: &str, members: &[String], victim: &str) -> String {
    let others: Vec<&String> = members.iter().filter(|m| *m != victim).collect();
    format!(
        "On {}, `tail {}` says whether it took {address} over and `ip -br addr` whether it holds it; \
         is HAProxy running there ({})? Compare its `{CONF}` with {victim}'s",
        and_list(&others),
        log_of("keepalived"),
        service_state("haproxy")
    )
}

/// Where to look when `victim`, back, does not hold `address` again.
fn again_hint(address: &str, members: &[String], victim: &str) -> String {
    let others: Vec<&String> = members.iter().filter(|m| *m != victim).collect();
    format!(
        "On {victim}, `tail {}` says whether it took {address} back and `ip -br addr` whether it holds it; \
         compare its `{CONF}` with {}'s",
        log_of("keepalived"),
        and_list(&others)
    )
}

impl Verifier<'_> {
    /// Kill the active load balancer: the site keeps answering on the
    /// virtual IP; then restore it.
    pub(super) async fn failover(&mut self, progress: &dyn Progress) -> Result<()> {
        let first = self.claimed(|c| match c {
            ToProve::Failover { address, members } => Some((*address, members.clone())),
            _ => None,
        });
        let Some((_, (address, members))) = first.into_iter().next() else {
            return Ok(());
        };
        let address = address.to_string();
        let holders = self.held_by_one(&address, &members).await?;
        let active = members[0].clone();
        if self.is_down(&active) {
            // Killing the other would only take the site down: the claims
            // that need the active one fail because of it.
            let answers = format!("site answers on {address} after {active} is killed");
            let again = format!("{active} restored and holds {address} again");
            self.unchecked("failover", answers, survives(), &active);
            self.unchecked("failover", again, active.clone(), &active);
            return Ok(());
        }
        let Some(victim) = holders.first().cloned() else {
            return Ok(());
        };
        progress.update("verify", None, &format!("killing {victim}"));
        self.site_survives(&address, &members, &victim).await?;
        // Restore: start it again and wait until it holds the VIP again.
        progress.update("verify", None, &format!("restoring {victim}"));
        self.holds_again(&address, &members, &victim).await
    }

    /// The claim that the first of `members` (highest priority) alone
    /// holds `address`; who holds it.
    async fn held_by_one(&mut self, address: &str, members: &[String]) -> Result<Vec<String>> {
        let t = Instant::now();
        let holders = self.vip_holder(address, members).await?;
        let active = members[0].clone();
        self.record(
            "failover",
            format!("virtual IP {address} held by one load balancer"),
            format!("{active} (highest priority)"),
            holders_words(&holders),
            verdict(holders == [active.clone()], || held_hint(address, members)),
            t,
        );
        Ok(holders)
    }

    /// Kills `victim` and claims the site answers on `address` through
    /// another load balancer (of `members`) within [`FAILOVER_BOUND_MS`].
    async fn site_survives(
        &mut self,
        address: &str,
        members: &[String],
        victim: &str,
    ) -> Result<()> {
        let t = Instant::now();
        self.driver.kill(victim).await?;
        // The virtual IP itself is polled (the name resolved once, here):
        // the gap measured is the address's, not the DNS server's too.
        let port = self.topo.site_port();
        let site = self.site();
        let poll = crate::shell::polling(
            crate::shell::FAILOVER_GAP,
            &[
                "4".to_string(),
                "--resolve".to_string(),
                format!("{site}:{port}:{address}"),
                format!("{}://{site}/nginx-health", self.scheme()),
            ],
        );
        let out = self.sh(&self.client, &poll).await?;
        let (gap, via) = read_gap(&out.stdout);
        self.record(
            "failover",
            format!("site answers on {address} after {victim} is killed"),
            survives(),
            match gap {
                Some(ms) => format!("after {ms} ms, through {via}"),
                None => "no answer in 4 s".into(),
            },
            verdict(
                gap.is_some_and(|ms| ms <= FAILOVER_BOUND_MS) && !via.is_empty() && via != victim,
                || survives_hint(address, members, victim),
            ),
            t,
        );
        Ok(())
    }

    /// Restores `victim` and claims the first of `members` holds `address`
    /// again. A victim not ready once started (its own probe waits for the
    /// address, which another member may keep) fails the claim, saying
    /// why; it does not end verify.
    async fn holds_again(&mut self, address: &str, members: &[String], victim: &str) -> Result<()> {
        let active = members[0].clone();
        let t = Instant::now();
        // Not starting is the engine's failure and ends verify; not being
        // ready is the lab's, and this claim's to say.
        self.driver.start(self.plan, victim).await?;
        let not_ready = self
            .ready(victim)
            .await
            .err()
            .map(|e| e.to_string().lines().next().unwrap_or_default().to_string());
        let mut back = Vec::new();
        for _ in 0..100 {
            back = self.vip_holder(address, members).await?;
            if back == [active.clone()] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.record(
            "failover",
            format!("{victim} restored and holds {address} again"),
            active.clone(),
            match &not_ready {
                Some(why) => format!("{} ({why})", holders_words(&back)),
                None => holders_words(&back),
            },
            verdict(not_ready.is_none() && back == [active], || {
                again_hint(address, members, victim)
            }),
            t,
        );
        Ok(())
    }

    /// Which member of the VIP's group holds it now.
    async fn vip_holder(&self, vip: &str, members: &[String]) -> Result<Vec<String>> {
        let ask = |m: String, script: String| async move {
            self.sh(&m, &script).await.ok().map(|o| o.stdout)
        };
        Ok(crate::components::keepalived::holders(vip, members, ask).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    #[test]
    fn the_gap_and_who_answered_after_are_read_from_the_poll() {
        assert_eq!(
            read_gap("420\nserved-by: lb-02\n"),
            (Some(420), "lb-02".into())
        );
        assert_eq!(read_gap("x\n"), (None, String::new()));
        assert_eq!(read_gap(""), (None, String::new()));
        assert_eq!(holders_words(&[]), "nobody");
        assert_eq!(
            holders_words(&["lb-01".into(), "lb-02".into()]),
            "lb-01, lb-02"
        );
    }

    #[test]
    fn failover_hints_point_at_the_members_keepalived() {
        let members = ["lb-01".to_string(), "lb-02".to_string()];
        assert_eq!(
            held_hint("10.103.0.100", &members),
            "On lb-01 and lb-02, `ip -br addr` shows which holds 10.103.0.100; compare their \
             `/etc/keepalived/keepalived.conf` (state, priority, virtual_router_id) and their logs \
             (`tail /var/log/infractl/keepalived/current`)"
        );
        let survives = survives_hint("10.103.0.100", &members, "lb-01");
        assert!(
            survives.starts_with("On lb-02, `tail /var/log/infractl/keepalived/current` says whether it took 10.103.0.100 over"),
            "{survives}"
        );
        assert!(
            survives.contains("(`sv status haproxy`, `tail /var/log/infractl/haproxy/current`)"),
            "{survives}"
        );
        let again = again_hint("10.103.0.100", &members, "lb-01");
        assert!(again.starts_with("On lb-01, `tail /var/log/infractl/keepalived/current` says whether it took 10.103.0.100 back"), "{again}");
        assert!(
            again.ends_with("compare its `/etc/keepalived/keepalived.conf` with lb-02's"),
            "{again}"
        );
    }

    #[test]
    fn the_first_virtual_ip_is_claimed_once_by_its_active_member() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claimed: Vec<(String, ToProve)> = super::super::verifier::kinds_claims(&topo)
                .into_iter()
                .filter(|(_, c)| matches!(c, ToProve::Failover { .. }))
                .collect();
            let want: Vec<(String, ToProve)> = topo
                .vips
                .first()
                .map(|v| {
                    let members: Vec<String> = v.members.iter().map(|(m, _)| m.clone()).collect();
                    let claim = ToProve::Failover {
                        address: v.address,
                        members: members.clone(),
                    };
                    (members[0].clone(), claim)
                })
                .into_iter()
                .collect();
            assert_eq!(claimed, want, "{stack}");
        }
    }
}

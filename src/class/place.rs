//! Where a class's labs go, decided whole before anything starts. A lab
//! already on an engine stays there (a second `class up` moves nothing);
//! each new lab goes to the engine with the most memory left that still
//! has room for it: memory under the share a class may fill, the engine's
//! `max-labs`, subnets free in the pool. A class that does not fit is
//! refused with how many labs fit where, so that no half of a class is
//! started. Pure: the engines come in as they were reached.

use crate::error::Error;
use crate::stack::Subnet;

/// The share of an engine's memory a class may fill with labs (the rest
/// is the engine's own, and its machine's).
pub const MEMORY_SHARE: f64 = 0.8;

/// One engine, as reached now.
#[derive(Debug, Clone)]
pub struct Engine {
    /// As tables show it (`unix:///var/run/docker.sock`, `school (tcp://…)`).
    pub name: String,
    /// Listed in the class file: it takes new labs. An engine only a lab's
    /// record names keeps that lab and takes no other.
    pub listed: bool,
    /// At most this many of the class's labs on it.
    pub max_labs: Option<u32>,
    /// What it has room for; or why it did not answer (one line).
    pub reached: Result<Room, String>,
}

/// What an engine that answered has room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Its machine's memory.
    pub memory_mb: u64,
    /// What labs not of the class hold of it.
    pub others_mb: u64,
    /// How many more labs its free subnets take (see [`subnet_room`]).
    pub subnets_for: u32,
}

/// A lab the class asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub student: String,
    pub lab: String,
    pub now: Now,
}

/// Where a lab is before placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Now {
    /// On the engine of this index (its record says so, or it has
    /// containers there): it stays.
    On(usize),
    /// Its record names no engine and it is on none that answered; it may
    /// be on these, which did not (named for the table).
    Unknown(String),
    /// On no engine: a new lab.
    New,
}

/// Where a lab goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub student: String,
    pub lab: String,
    pub engine: Option<usize>,
    pub how: How,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Already on its engine.
    Kept,
    /// New on its engine.
    New,
    /// Not placed: why (it may be on an engine that did not answer).
    Lost(String),
}

impl How {
    /// As the dry run's table says it.
    pub fn word(&self) -> String {
        match self {
            How::Kept => "already there".into(),
            How::New => "new".into(),
            How::Lost(why) => format!("unknown: {why}"),
        }
    }
}

/// Why an engine takes no more labs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Its memory: this much left for the class.
    Memory { free_mb: u64 },
    /// Its `max-labs`.
    MaxLabs(u32),
    /// Its free subnets in the pool.
    Subnets,
    /// Not listed in the class file (a lab's record names it).
    NotListed,
    /// It did not answer.
    Unreachable(String),
}

/// How many new labs an engine takes, and what stops it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    pub engine: String,
    /// The class's labs already on it.
    pub kept: u32,
    /// New labs it has room for.
    pub more: u32,
    pub limit: Limit,
}

/// A class that does not fit: nothing of it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The labs the class asks for (one per student).
    pub asked: usize,
    /// Of those, already on an engine.
    pub kept: usize,
    /// What each engine has room for.
    pub fits: Vec<Fit>,
    /// What one lab needs.
    pub need_mb: u64,
}

impl Refusal {
    /// New labs the engines have room for, together.
    pub fn room(&self) -> u32 {
        self.fits.iter().map(|f| f.more).sum()
    }

    /// The error `class up` stops with (exit 2): how many labs fit where.
    pub fn error(&self, class: &str, stack: &str, file: &str) -> Error {
        let new = self.asked - self.kept;
        let already = match self.kept {
            0 => String::new(),
            k => format!(" ({k} already up)"),
        };
        let mut message = format!(
            "class `{class}` does not fit: {} asked{already}, room for {} more of the {new} new; nothing was started",
            crate::error::count(self.asked, "lab"),
            self.room(),
        );
        let width = self.fits.iter().map(|f| f.engine.len()).max().unwrap_or(0);
        for f in &self.fits {
            let why = match &f.limit {
                Limit::Memory { free_mb } => format!(
                    "its memory: {free_mb} MB left of {:.0} %, a lab of {stack} needs about {} MB",
                    MEMORY_SHARE * 100.0,
                    self.need_mb
                ),
                Limit::MaxLabs(m) => format!("its max-labs: {m}"),
                Limit::Subnets => "its free subnets in the pool".into(),
                Limit::NotListed => "not listed in the class file".into(),
                Limit::Unreachable(e) => format!("did not answer: {e}"),
            };
            let kept = match f.kept {
                0 => String::new(),
                k => format!(", {k} already there"),
            };
            message.push_str(&format!(
                "\n  {:<width$}  {} more{kept} ({why})",
                f.engine, f.more
            ));
        }
        let mut ways = vec![format!("list more engines under `engines:` in {file}")];
        if self
            .fits
            .iter()
            .any(|f| matches!(f.limit, Limit::MaxLabs(_)))
        {
            ways.push("raise their `max-labs:`".into());
        }
        if self
            .fits
            .iter()
            .any(|f| matches!(f.limit, Limit::Unreachable(_)))
        {
            ways.push("bring back the engines that did not answer".into());
        }
        ways.push("give the class fewer students".into());
        let last = ways.pop().expect("one way");
        Error::usage(message).with_hint(format!("{}, or {last}", ways.join(", ")))
    }
}

/// A whole placement: every lab of the class, in the students' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub labs: Vec<Placed>,
}

/// Places every lab of `wanted` on `engines`, a lab needing `need_mb`:
/// labs on an engine stay there; new ones go one after another to the
/// engine with the most memory left that has room (the engines' order
/// breaks ties). Refused whole when a new lab finds no room.
pub fn place(engines: &[Engine], wanted: &[Wanted], need_mb: u64) -> Result<Placement, Refusal> {
    let mut kept = vec![0u32; engines.len()];
    for w in wanted {
        if let Now::On(i) = w.now {
            kept[i] += 1;
        }
    }
    let fits: Vec<Fit> = engines
        .iter()
        .zip(&kept)
        .map(|(e, &k)| fit(e, k, need_mb))
        .collect();
    let new = wanted.iter().filter(|w| w.now == Now::New).count();
    let room: u32 = fits.iter().map(|f| f.more).sum();
    if (room as usize) < new {
        return Err(Refusal {
            asked: wanted.len(),
            kept: wanted
                .iter()
                .filter(|w| matches!(w.now, Now::On(_)))
                .count(),
            fits,
            need_mb,
        });
    }
    // Each engine's memory used by the class and its labs so far; every
    // engine takes up to its `more`, so the greedy choice places them all.
    let mut used: Vec<u64> = engines
        .iter()
        .zip(&kept)
        .map(|(e, &k)| e.reached.as_ref().map_or(0, |r| r.others_mb) + u64::from(k) * need_mb)
        .collect();
    let mut taken = vec![0u32; engines.len()];
    let labs = wanted
        .iter()
        .map(|w| {
            let (engine, how) = match &w.now {
                Now::On(i) => (Some(*i), How::Kept),
                Now::Unknown(on) => (
                    None,
                    How::Lost(format!(
                        "its record names no engine, and it may be on {on}, which did not answer"
                    )),
                ),
                Now::New => {
                    let i = (0..engines.len())
                        .filter(|&i| taken[i] < fits[i].more)
                        .max_by(|&a, &b| {
                            free(&engines[a], used[a])
                                .cmp(&free(&engines[b], used[b]))
                                .then(b.cmp(&a))
                        })
                        .expect("room was counted");
                    taken[i] += 1;
                    used[i] += need_mb;
                    (Some(i), How::New)
                }
            };
            Placed {
                student: w.student.clone(),
                lab: w.lab.clone(),
                engine,
                how,
            }
        })
        .collect();
    Ok(Placement { labs })
}

/// The memory a class may still fill on `e` with `used` taken.
fn free(e: &Engine, used: u64) -> u64 {
    e.reached
        .as_ref()
        .map_or(0, |r| share(r.memory_mb).saturating_sub(used))
}

fn share(memory_mb: u64) -> u64 {
    (memory_mb as f64 * MEMORY_SHARE) as u64
}

/// How many new labs `e` takes beside the `kept` labs of the class on it.
fn fit(e: &Engine, kept: u32, need_mb: u64) -> Fit {
    let at = |more, limit| Fit {
        engine: e.name.clone(),
        kept,
        more,
        limit,
    };
    let r = match &e.reached {
        Err(why) => return at(0, Limit::Unreachable(why.clone())),
        Ok(_) if !e.listed => return at(0, Limit::NotListed),
        Ok(r) => r,
    };
    let free_mb = share(r.memory_mb).saturating_sub(r.others_mb + u64::from(kept) * need_mb);
    let by_memory = u32::try_from(free_mb / need_mb.max(1)).unwrap_or(u32::MAX);
    let by_max = e.max_labs.map_or(u32::MAX, |m| m.saturating_sub(kept));
    let mut limits = [
        (by_memory, Limit::Memory { free_mb }),
        (by_max, Limit::MaxLabs(e.max_labs.unwrap_or(0))),
        (r.subnets_for, Limit::Subnets),
    ];
    // The tightest limit; memory first when two agree.
    limits.sort_by_key(|(n, _)| *n);
    let (more, limit) = limits.into_iter().next().expect("three limits");
    at(more, limit)
}

/// How many labs on subnets like `own` (a stack's networks) the `pool`
/// still takes beside `taken` (an engine's subnets in use). Counted in
/// aligned blocks of the largest of `own`: a lab whose networks are of
/// several sizes may fit a little better than this says, never worse.
pub fn subnet_room(own: &[Subnet], taken: &[Subnet], pool: Subnet) -> u32 {
    let Some(prefix) = own.iter().map(|s| s.prefix).min() else {
        return u32::MAX;
    };
    if prefix < pool.prefix {
        return 0;
    }
    let start = u64::from(u32::from(pool.base));
    let end = start + (1u64 << (32 - u32::from(pool.prefix)));
    let size = 1u64 << (32 - u32::from(prefix));
    // The taken ranges, sorted: blocks are walked once beside them.
    let mut ranges: Vec<(u64, u64)> = taken
        .iter()
        .map(|t| {
            let b = u64::from(u32::from(t.base));
            (b, b + (1u64 << (32 - u32::from(t.prefix))))
        })
        .filter(|&(b, e)| e > start && b < end)
        .collect();
    ranges.sort_unstable();
    let (mut free, mut next) = (0u64, 0usize);
    let mut block = start;
    while block + size <= end {
        // Ranges wholly before this block are behind us.
        while next < ranges.len() && ranges[next].1 <= block {
            next += 1;
        }
        let clash = ranges[next..]
            .iter()
            .take_while(|r| r.0 < block + size)
            .any(|r| r.1 > block);
        if !clash {
            free += 1;
        }
        block += size;
    }
    u32::try_from(free / own.len() as u64).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(name: &str, memory_mb: u64) -> Engine {
        Engine {
            name: name.into(),
            listed: true,
            max_labs: None,
            reached: Ok(Room {
                memory_mb,
                others_mb: 0,
                subnets_for: u32::MAX,
            }),
        }
    }

    fn new_labs(n: usize) -> Vec<Wanted> {
        (1..=n)
            .map(|i| Wanted {
                student: format!("s{i}"),
                lab: format!("c-s{i}"),
                now: Now::New,
            })
            .collect()
    }

    fn on(p: &Placement) -> Vec<Option<usize>> {
        p.labs.iter().map(|l| l.engine).collect()
    }

    #[test]
    fn a_class_that_fits_goes_where_most_memory_is_left() {
        // 800 and 400 MB for the class; 200 MB a lab: 4 and 2.
        let engines = [engine("a", 1000), engine("b", 500)];
        let p = place(&engines, &new_labs(6), 200).unwrap();
        // 800 400 -> 600 400 -> 400 400 -> (tie: a) 200 400 -> 200 200 -> ...
        assert_eq!(
            on(&p),
            [Some(0), Some(0), Some(0), Some(1), Some(0), Some(1)]
        );
        assert!(p.labs.iter().all(|l| l.how == How::New));
        // A tie goes to the first listed.
        let p = place(&[engine("a", 500), engine("b", 500)], &new_labs(1), 200).unwrap();
        assert_eq!(on(&p), [Some(0)]);
    }

    #[test]
    fn a_class_that_does_not_fit_is_refused_with_what_fits_where() {
        let mut engines = [engine("a", 1000), engine("b", 500)];
        engines[1].reached.as_mut().unwrap().others_mb = 150;
        let r = place(&engines, &new_labs(10_000), 200).unwrap_err();
        assert_eq!((r.asked, r.kept, r.room()), (10_000, 0, 5));
        assert_eq!(r.fits[0].more, 4);
        assert_eq!(r.fits[0].limit, Limit::Memory { free_mb: 800 });
        assert_eq!(r.fits[1].more, 1);
        assert_eq!(r.fits[1].limit, Limit::Memory { free_mb: 250 });
        let text = r.error("c", "task1", "c.yaml").report();
        assert!(
            text.starts_with("error: class `c` does not fit: 10000 labs asked, room for 5 more of the 10000 new; nothing was started\n  a  4 more (its memory: 800 MB left of 80 %, a lab of task1 needs about 200 MB)\n  b  1 more (its memory: 250 MB left"),
            "{text}"
        );
        assert!(text.contains("hint: list more engines under `engines:` in c.yaml"));
        // One lab more than fits is refused too.
        assert!(place(&engines, &new_labs(6), 200).is_err());
        assert!(place(&engines, &new_labs(5), 200).is_ok());
    }

    #[test]
    fn labs_already_placed_stay_where_they_are() {
        let engines = [engine("a", 1000), engine("b", 1000)];
        let mut wanted = new_labs(4);
        wanted[0].now = Now::On(1);
        wanted[1].now = Now::On(1);
        wanted[2].now = Now::On(1);
        let p = place(&engines, &wanted, 200).unwrap();
        assert_eq!(on(&p), [Some(1), Some(1), Some(1), Some(0)]);
        assert_eq!(p.labs[0].how, How::Kept);
        assert_eq!(p.labs[3].how, How::New);
        // A re-up of a whole class changes nothing, even on an engine now
        // fuller than the class may fill anew.
        let mut full = new_labs(5);
        for w in &mut full {
            w.now = Now::On(0);
        }
        let p = place(&engines, &full, 200).unwrap();
        assert!(p
            .labs
            .iter()
            .all(|l| l.engine == Some(0) && l.how == How::Kept));
        // Kept labs count against their engine's room: 4 fit, 3 are there.
        let mut five = new_labs(5);
        for w in &mut five[..3] {
            w.now = Now::On(0);
        }
        assert!(place(&engines[..1], &five[..4], 200).is_ok());
        let r = place(&engines[..1], &five, 200).unwrap_err();
        assert_eq!((r.kept, r.room(), r.fits[0].kept), (3, 1, 3));
    }

    #[test]
    fn max_labs_caps_an_engine() {
        let mut engines = [engine("a", 10_000), engine("b", 1000)];
        engines[0].max_labs = Some(2);
        let p = place(&engines, &new_labs(5), 200).unwrap();
        assert_eq!(on(&p), [Some(0), Some(0), Some(1), Some(1), Some(1)]);
        let r = place(&engines, &new_labs(7), 200).unwrap_err();
        assert_eq!(r.fits[0].limit, Limit::MaxLabs(2));
        assert_eq!(r.room(), 6);
        // Labs already there count against it.
        let mut wanted = new_labs(3);
        wanted[0].now = Now::On(0);
        let r = place(&engines[..1], &wanted, 200).unwrap_err();
        assert_eq!((r.fits[0].more, r.fits[0].kept), (1, 1));
    }

    #[test]
    fn an_unreachable_engine_takes_no_new_lab_and_keeps_its_own() {
        let mut engines = [engine("a", 1000), engine("b", 1000)];
        engines[1].reached = Err("cannot reach the Docker engine at b".into());
        let mut wanted = new_labs(3);
        wanted[0].now = Now::On(1);
        wanted[1].now = Now::Unknown("b".into());
        let p = place(&engines, &wanted, 200).unwrap();
        assert_eq!(on(&p), [Some(1), None, Some(0)]);
        assert!(matches!(&p.labs[1].how, How::Lost(w) if w.contains("may be on b")));
        let r = place(&engines, &new_labs(5), 200).unwrap_err();
        assert_eq!(r.room(), 4);
        assert_eq!(
            r.fits[1].limit,
            Limit::Unreachable(engines[1].reached.clone().unwrap_err())
        );
        assert!(r
            .error("c", "t", "c.yaml")
            .report()
            .contains("b  0 more (did not answer: cannot reach"));
        // An engine only a record names keeps its lab, takes no other.
        engines[1] = Engine {
            listed: false,
            ..engine("b", 100_000)
        };
        let r = place(&engines, &new_labs(5), 200).unwrap_err();
        assert_eq!((r.room(), &r.fits[1].limit), (4, &Limit::NotListed));
    }

    #[test]
    fn free_subnets_limit_an_engine() {
        let net = |s: &str| s.parse::<Subnet>().unwrap();
        let pool = net("10.128.0.0/22");
        let own = [net("10.101.0.0/24"), net("10.101.1.0/24")];
        assert_eq!(subnet_room(&own, &[], pool), 2);
        assert_eq!(subnet_room(&own, &[net("10.128.1.0/24")], pool), 1);
        assert_eq!(subnet_room(&own, &[net("10.128.0.0/23")], pool), 1);
        assert_eq!(subnet_room(&own, &[net("10.0.0.0/8")], pool), 0);
        // Outside the pool, nothing counts against it.
        assert_eq!(subnet_room(&own, &[net("172.17.0.0/16")], pool), 2);
        assert_eq!(subnet_room(&[net("10.0.0.0/16")], &[], pool), 0);
        let mut engines = [engine("a", 100_000)];
        engines[0].reached.as_mut().unwrap().subnets_for = 2;
        let r = place(&engines, &new_labs(3), 200).unwrap_err();
        assert_eq!((r.room(), &r.fits[0].limit), (2, &Limit::Subnets));
    }
}

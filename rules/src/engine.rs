//! The engine: events in (one JSON line of `kiltx-tracer` each), alerts out.
//! Rules are indexed by the event types their conditions can match, and
//! evaluated in file order; with `rule_matching: first` (the default, as in
//! Falco) the first match alerts, with `all` every match does.
use crate::output::{self, AlertRule};
use crate::ruleset::{Priority, Rule, Ruleset};
use crate::state::{Ctx, Ev, Line, State};
use crate::FxHashMap as HashMap;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matching {
    First,
    All,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub matching: Matching,
    /// Rules less severe than this are not evaluated.
    pub min_priority: Priority,
    /// The alerts' `hostname` (and `evt.hostname`) when the events do not
    /// say it (their stream's `meta` event).
    pub hostname: String,
    /// Use `hostname` even when the events say another.
    pub hostname_fixed: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            matching: Matching::First,
            min_priority: Priority::Debug,
            hostname: String::new(),
            hostname_fixed: false,
        }
    }
}

/// Counters for the periodic stats.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Lines received.
    pub events: u64,
    /// Lines that were not JSON objects.
    pub invalid: u64,
    pub alerts: u64,
    /// Alerts per rule, in the order of `Engine::rule_names`.
    pub by_rule: Vec<u64>,
    /// Events the tracers reported dropped (latest figure per container).
    pub tracer_dropped: u64,
    /// Streams the collector saw cut.
    pub cut_streams: u64,
}

pub struct Engine {
    rules: Vec<Rule>,
    /// Per event type, the rules to evaluate, in file order.
    by_type: HashMap<String, Vec<usize>>,
    /// Rules for event types not in `by_type` (those matching any type).
    any: Vec<usize>,
    state: State,
    opts: Options,
    dropped: HashMap<String, u64>,
    pub stats: Stats,
}

impl Engine {
    pub fn new(rs: Ruleset, opts: Options) -> Engine {
        let rules: Vec<Rule> = rs
            .rules
            .into_iter()
            .filter(|r| r.enabled && r.priority <= opts.min_priority)
            .collect();
        let any: Vec<usize> = (0..rules.len())
            .filter(|i| rules[*i].evttypes.is_none())
            .collect();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, r) in rules.iter().enumerate() {
            for t in r.evttypes.iter().flatten() {
                by_type.entry(t.clone()).or_default().push(i);
            }
        }
        for v in by_type.values_mut() {
            v.extend(&any);
            v.sort_unstable();
            v.dedup();
        }
        let n = rules.len();
        Engine {
            rules,
            by_type,
            any,
            state: State::default(),
            opts,
            dropped: HashMap::default(),
            stats: Stats {
                by_rule: vec![0; n],
                ..Stats::default()
            },
        }
    }

    /// The rules evaluated, in order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Processes in the process tables (bounded: exited ones leave).
    pub fn processes(&self) -> usize {
        self.state.processes()
    }

    /// One event line; alerts are appended to `out`. Returns the number of
    /// alerts.
    pub fn process(&mut self, line: &[u8], out: &mut Vec<u8>) -> usize {
        self.stats.events += 1;
        // the fast path reads the line without building its top-level object;
        // a line whose names hold escapes is read whole
        let fast = match Line::parse(line) {
            None => {
                self.stats.invalid += 1;
                return 0;
            }
            Some(r) => r,
        };
        let whole;
        let ev = match &fast {
            Ok(l) => l.ev(),
            Err(()) => {
                whole = crate::json::parse(line);
                match whole.as_ref().and_then(Ev::new) {
                    Some(ev) => ev,
                    None => {
                        self.stats.invalid += 1;
                        return 0;
                    }
                }
            }
        };
        self.event(&ev, out)
    }

    fn event(&mut self, ev: &Ev, out: &mut Vec<u8>) -> usize {
        match ev.kind {
            "syscall" | "process" | "tracer" => {}
            "stats" => {
                if let Some(d) = ev.arg("dropped").and_then(crate::json::J::as_u64) {
                    let key = ev.container.unwrap_or("").to_string();
                    let prev = self.dropped.insert(key, d).unwrap_or(0);
                    self.stats.tracer_dropped =
                        self.stats.tracer_dropped.saturating_add(d - prev.min(d));
                }
                self.state.after(ev);
                return 0;
            }
            "collector" => {
                if ev.arg_str("stream") == Some("cut") {
                    self.stats.cut_streams += 1;
                }
                return 0;
            }
            _ => {
                self.state.before(ev);
                return 0;
            }
        }
        self.state.before(ev);
        let candidates = self.by_type.get(ev.evt_type).unwrap_or(&self.any);
        let mut n = 0;
        if !candidates.is_empty() {
            let cs = self.state.container(ev);
            let hostname = match cs.and_then(|c| c.meta.hostname.as_deref()) {
                Some(h) if !self.opts.hostname_fixed => h,
                _ => &self.opts.hostname,
            };
            let ctx = Ctx { ev, cs, hostname };
            for &i in candidates {
                let r = &self.rules[i];
                if r.cond.eval(&ctx) {
                    output::alert(
                        &AlertRule {
                            name: &r.name,
                            priority: r.priority.word(),
                            tags: &r.tags,
                            output: &r.output,
                        },
                        &ctx,
                        out,
                    );
                    self.stats.by_rule[i] += 1;
                    n += 1;
                    if self.opts.matching == Matching::First {
                        break;
                    }
                }
            }
        }
        self.stats.alerts += n as u64;
        self.state.after(ev);
        n
    }

    /// The stats as one JSON line (Falco-like names), with '\n'.
    /// `extra`: the caller's own counters, added to `args`.
    pub fn stats_line(&self, ts: &str, final_: bool, extra: &[(&str, u64)], out: &mut Vec<u8>) {
        let mut by_rule = serde_json::Map::new();
        for (r, n) in self.rules.iter().zip(&self.stats.by_rule) {
            if *n > 0 {
                by_rule.insert(r.name.clone(), Value::from(*n));
            }
        }
        let mut v = serde_json::json!({
            "ts": ts,
            "type": "collector",
            "args": {
                "stats": true,
                "final": final_,
                "events": self.stats.events,
                "invalid": self.stats.invalid,
                "alerts": self.stats.alerts,
                "alerts_by_rule": by_rule,
                "tracer_dropped": self.stats.tracer_dropped,
                "cut_streams": self.stats.cut_streams,
                "processes": self.processes(),
            }
        });
        if let Some(args) = v["args"].as_object_mut() {
            for (k, n) in extra {
                args.insert((*k).to_string(), Value::from(*n));
            }
        }
        out.extend_from_slice(v.to_string().as_bytes());
        out.push(b'\n');
    }
}

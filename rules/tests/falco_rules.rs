//! The unmodified Falco stable rule set (../shared/peer/falco/rules, read in
//! place) loads; the rules that depend on fields kiltx cannot supply on
//! Fargate are reported: two can never fire (Kubernetes, a privileged
//! container); two more need capabilities no Fargate task has
//! (CAP_SYS_MODULE, CAP_SYS_ADMIN), which kiltx reads from exec events.
use kiltx_rules::load;
use std::path::PathBuf;

pub fn peer(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the peer data must be beside the clone)",
            p.display()
        )
    })
}

#[test]
fn falco_stable_rules_load_and_unsupported_fields_are_reported() {
    let rs =
        load(&[("falco_rules.yaml".into(), peer("rules/falco_rules.yaml"))]).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert_eq!(rs.rules.len(), 25);
    assert_eq!((rs.macros, rs.lists), (87, 49));
    assert!(rs.rules.iter().all(|r| r.enabled && r.evttypes.is_some()));
    let affected: Vec<(&str, Vec<&str>, bool)> = rs
        .rules
        .iter()
        .filter(|r| !r.missing.is_empty())
        .map(|r| {
            (
                r.name.as_str(),
                r.missing.iter().map(String::as_str).collect(),
                r.possible,
            )
        })
        .collect();
    assert_eq!(
        affected,
        [
            (
                "Contact K8S API Server From Container",
                vec!["fd.sip.name", "k8s.ns.name"],
                false
            ),
            (
                "Debugfs Launched in Privileged Container",
                vec!["container.privileged"],
                false
            ),
            (
                "Disallowed SSH Connection Non Standard Port",
                vec!["fd.connected", "fd.name_changed"],
                true
            ),
        ]
    );
    // 23 by the fields they use; of those, the kernel-module and release_agent
    // rules need CAP_SYS_MODULE and CAP_SYS_ADMIN, which no Fargate task has:
    // 21 can fire on Fargate
    assert_eq!(rs.rules.iter().filter(|r| r.possible).count(), 23);
}

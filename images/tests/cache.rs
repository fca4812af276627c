//! The cache, against a real `docker-registry`: each manifest and config is fetched once per
//! run, whatever the number of containers, tags or platforms asking for it.

use std::time::Duration;

use kiltx_images::{resolve_all, Lookup, Options, Registries};
use kiltx_testsupport::{self as ts, Auth, Process, TempDir};

fn lookup(image: &str, platform: &str) -> Lookup {
    Lookup {
        image: image.to_string(),
        platform: platform.to_string(),
    }
}

#[tokio::test]
async fn each_manifest_and_config_is_fetched_once() {
    let tmp = TempDir::new("images-cache");
    let reg = ts::registry(&tmp.path().join("storage"), tmp.path(), Auth::Anonymous);
    let h = reg.host();
    let p = Process::new(Some(&["/e"]), Some(&["c"]));
    // Two tags whose manifests differ but share one config blob.
    ts::push_image(&h, "a", "1", ts::DOCKER_MANIFEST, "amd64", &p);
    ts::push_image(&h, "a", "2", ts::DOCKER_MANIFEST, "amd64", &p);
    let idx = ts::push_index(
        &h,
        "m",
        "1",
        ts::OCI_INDEX,
        &[
            ("amd64", Process::new(None, Some(&["x"]))),
            ("arm64", Process::new(None, Some(&["y"]))),
        ],
    );
    let registries = Registries::new(Options::default()).unwrap();
    let lookups = vec![
        lookup(&format!("{h}/a:1"), "linux/amd64"),
        lookup(&format!("{h}/a:1"), "linux/amd64"),
        lookup(&format!("{h}/a:2"), "linux/amd64"),
        lookup(&format!("{h}/m:1"), "linux/amd64"),
        lookup(&format!("{h}/m:1"), "linux/arm64"),
        lookup(&format!("{h}/m:1"), "linux/amd64"),
    ];
    let answers = resolve_all(&registries, &lookups, 8, Duration::from_secs(30)).await;
    let cmds: Vec<Vec<String>> = answers
        .into_iter()
        .map(|a| a.unwrap().config.cmd.unwrap())
        .collect();
    assert_eq!(
        cmds,
        vec![
            vec!["c"],
            vec!["c"],
            vec!["c"],
            vec!["x"],
            vec!["y"],
            vec!["x"]
        ]
    );
    let log = registries.request_log();
    let mut unique = log.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        log.len(),
        unique.len(),
        "a URL was requested twice: {log:#?}"
    );
    // a:1 and a:2 manifests + their one config; m:1's index, 2 platform manifests, 2 configs.
    let manifests = log.iter().filter(|u| u.contains("/manifests/")).count();
    let blobs = log.iter().filter(|u| u.contains("/blobs/")).count();
    assert_eq!((manifests, blobs), (5, 3), "{log:#?}");

    // The index by its digest, for both platforms: already known, no request.
    let again = vec![
        lookup(&format!("{h}/m@{idx}"), "linux/arm64"),
        lookup(&format!("{h}/m:1@{idx}"), "linux/amd64"),
    ];
    let answers = resolve_all(&registries, &again, 8, Duration::from_secs(30)).await;
    assert_eq!(
        answers[0].as_ref().unwrap().config.cmd,
        Some(vec!["y".to_string()])
    );
    assert_eq!(
        answers[1].as_ref().unwrap().config.cmd,
        Some(vec!["x".to_string()])
    );
    assert_eq!(registries.request_log(), log, "no new request");
}

#[tokio::test]
async fn bearer_tokens_are_asked_for_once_per_repository() {
    let tmp = TempDir::new("images-bearer");
    let storage = tmp.path().join("storage");
    let anon = ts::registry(&storage, tmp.path(), Auth::Anonymous);
    let tokens = ts::TokenService::start(tmp.path(), "bob", "hunter2");
    let bearer = ts::registry(&storage, tmp.path(), Auth::Bearer(&tokens));
    let p = Process::new(None, Some(&["c"]));
    ts::push_image(&anon.host(), "one", "1", ts::OCI_MANIFEST, "amd64", &p);
    ts::push_image(&anon.host(), "one", "2", ts::OCI_MANIFEST, "amd64", &p);
    ts::push_image(&anon.host(), "two", "1", ts::OCI_MANIFEST, "amd64", &p);
    let mut opts = Options::default();
    opts.credentials.insert(&bearer.host(), "bob", "hunter2");
    let registries = Registries::new(opts).unwrap();
    let h = bearer.host();
    for batch in [
        vec![lookup(&format!("{h}/one:1"), "linux/amd64")],
        vec![
            lookup(&format!("{h}/one:2"), "linux/amd64"),
            lookup(&format!("{h}/two:1"), "linux/amd64"),
        ],
    ] {
        for a in resolve_all(&registries, &batch, 8, Duration::from_secs(30)).await {
            assert_eq!(a.unwrap().config.cmd, Some(vec!["c".to_string()]));
        }
    }
    let log = registries.request_log();
    // one:1 → 401, token, manifest again, config; then the realm is known: one:2 reuses one's
    // token, two gets its token before its first request (and all share one config blob).
    assert_eq!(tokens.requests(), 2, "{log:#?}");
    assert_eq!(log.len(), 4 + 1 + 2, "{log:#?}");
}

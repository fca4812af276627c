//! The sequence both front ends (the CLI's `patch` and `lint`, the Lambda) run around the
//! engine: find the images whose ENTRYPOINT/CMD the task definitions need and nobody gave,
//! look them up, then patch (or lint) with everything known. One function, so that the CLI and
//! the Lambda cannot drift apart in how they do it.

use std::ops::Deref;
use std::time::Duration;

use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::NeededImage;

use crate::{resolve_all, Error, ImageSource, Lookup, Resolved, DEFAULT_CONCURRENCY};

/// One needed image and what its registry answered.
#[derive(Debug)]
pub struct Answer {
    pub need: NeededImage,
    pub answer: Result<Resolved, Error>,
}

/// Find, look up, patch.
///
/// `find` says which images `input` needs beyond `known` (the caller's own configurations);
/// when there are any, `source` makes the registry client (only then, so that a client that
/// cannot be made matters only when it is needed: `Err` goes to `patch` as is) and they are
/// looked up, all within `deadline`. `patch` then gets `input` back, every configuration known
/// (`known` and what was found) and the answers, in the order of the needs (found or failed:
/// whether a failure stops it is the caller's business, e.g. lint goes on and reports it).
pub async fn find_look_up_patch<J, R, S, E, T>(
    input: J,
    known: &ImageConfigs,
    find: impl FnOnce(&J, &ImageConfigs) -> Vec<NeededImage>,
    source: impl FnOnce() -> Result<R, E>,
    deadline: Duration,
    patch: impl FnOnce(J, &ImageConfigs, Result<Vec<Answer>, E>) -> T,
) -> T
where
    R: Deref<Target = S>,
    S: ImageSource + ?Sized,
{
    let needs = find(&input, known);
    if needs.is_empty() {
        return patch(input, known, Ok(Vec::new()));
    }
    look_up_then_patch(input, known, needs, source, deadline, patch).await
}

/// [`find_look_up_patch`] for callers without a runtime of their own (the CLI): a runtime is
/// started only when something is to be looked up.
pub fn find_look_up_patch_blocking<J, R, S, E, T>(
    input: J,
    known: &ImageConfigs,
    find: impl FnOnce(&J, &ImageConfigs) -> Vec<NeededImage>,
    source: impl FnOnce() -> Result<R, E>,
    deadline: Duration,
    patch: impl FnOnce(J, &ImageConfigs, Result<Vec<Answer>, E>) -> T,
) -> T
where
    R: Deref<Target = S>,
    S: ImageSource + ?Sized,
{
    let needs = find(&input, known);
    if needs.is_empty() {
        return patch(input, known, Ok(Vec::new()));
    }
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(look_up_then_patch(
            input, known, needs, source, deadline, patch,
        )),
        Err(e) => {
            let answers = needs
                .into_iter()
                .map(|need| Answer {
                    need,
                    answer: Err(Error::Usage(format!("cannot start the I/O runtime: {e}"))),
                })
                .collect();
            patch(input, known, Ok(answers))
        }
    }
}

async fn look_up_then_patch<J, R, S, E, T>(
    input: J,
    known: &ImageConfigs,
    needs: Vec<NeededImage>,
    source: impl FnOnce() -> Result<R, E>,
    deadline: Duration,
    patch: impl FnOnce(J, &ImageConfigs, Result<Vec<Answer>, E>) -> T,
) -> T
where
    R: Deref<Target = S>,
    S: ImageSource + ?Sized,
{
    let source = match source() {
        Ok(s) => s,
        Err(e) => return patch(input, known, Err(e)),
    };
    let lookups: Vec<Lookup> = needs.iter().map(Lookup::from).collect();
    let results = resolve_all(&*source, &lookups, DEFAULT_CONCURRENCY, deadline).await;
    let mut images = known.clone();
    for (need, result) in needs.iter().zip(&results) {
        if let Ok(r) = result {
            images.insert_for(&need.image, &need.platform, r.config.clone());
        }
    }
    let answers = needs
        .into_iter()
        .zip(results)
        .map(|(need, answer)| Answer { need, answer })
        .collect();
    patch(input, &images, Ok(answers))
}

//! Selection: which task definitions are patched (Linux only, Fargate compatibility, `--include-ec2`,
//! opt-in mode, the `kilt-ignore`/`kilt-include` tags) and which of their containers are traced
//! (`kilt-include-containers`/`kilt-ignore-containers` and their command-line counterparts).

use serde_json::{Map, Value};

use super::containers::Roster;
use super::fields::{at, expected, get, list_of, string_of};
use super::platform::windows_family;
use super::task::Cx;
use crate::error::{Error, Path};
use crate::intrinsic;
use crate::shape::Shape;

/// The selection tags kiltx understands (Kilt's names, and the same with `kiltx-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    Ignore,
    Include,
    IncludeContainers,
    IgnoreContainers,
}

fn selection_tag(key: &str) -> Option<Tag> {
    let rest = key
        .strip_prefix("kiltx-")
        .or_else(|| key.strip_prefix("kilt-"))?;
    Some(match rest {
        "ignore" | "exclude" => Tag::Ignore,
        "include" => Tag::Include,
        "include-containers" => Tag::IncludeContainers,
        "ignore-containers" | "exclude-containers" => Tag::IgnoreContainers,
        _ => return None,
    })
}

/// The selection tag a `tags` entry (at `ipath`) is, with its container list (empty for
/// task-level tags); `None` for any other tag.
fn tag_entry(t: &Value, ipath: Path) -> Result<Option<(Tag, Vec<String>)>, Error> {
    let Value::Object(m) = t else {
        return Err(expected(ipath, "a tag ({Key, Value})", t));
    };
    let Some((kk, key)) = get(m, "key", &ipath)? else {
        return Err(Error::invalid(ipath, "the tag has no Key"));
    };
    let Value::String(key) = key else {
        // A computed key cannot be one of ours unless it resolves to one; refuse to guess.
        return Err(expected(at(&ipath, &kk), "a string tag key", key));
    };
    let Some(tag) = selection_tag(key) else {
        return Ok(None);
    };
    let value = match get(m, "value", &ipath)? {
        None => String::new(),
        Some((_, Value::String(s))) => s.clone(),
        Some((vk, other)) => {
            return Err(Error::invalid_hint(
                at(&ipath, &vk),
                format!(
                    "tag {key} has {} as its value; kiltx needs a literal string to decide what to patch",
                    intrinsic::describe(other)
                ),
                match tag {
                    Tag::IncludeContainers | Tag::IgnoreContainers => {
                        "write the container names literally, separated by ':' (e.g. app:worker)"
                    }
                    _ => "write the value literally (any string will do)",
                },
            ))
        }
    };
    let names = match tag {
        Tag::IncludeContainers | Tag::IgnoreContainers => value
            .split(':')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Some((tag, names)))
}

/// The outcome of task-level selection.
pub(super) enum Selected {
    Task(SelectedTask),
    /// Left alone, and why.
    Skipped(String),
}

/// A task definition selected for patching.
pub(super) struct SelectedTask {
    /// Where its containers list is.
    pub(super) containers_path: Path,
    /// Its selection tags, with their container lists (empty for task-level tags).
    pub(super) tags: Vec<(Tag, Vec<String>)>,
    /// Its tags as written, for a [`Tailor`](super::Tailor) (only read when one is given).
    pub(super) raw_tags: Option<Value>,
}

impl Cx<'_> {
    /// Whether the task definition at `target` is patched, and if so where its containers are.
    pub(super) fn select_task(&self, target: &Value) -> Result<Selected, Error> {
        let path = &self.site.path;
        let (containers_path, tags, raw_tags) = if self.site.shape == Shape::Containers {
            (path.clone(), Vec::new(), None)
        } else {
            let Value::Object(props) = target else {
                return Err(expected(path.clone(), "an object", target));
            };
            if let Some(reason) = self.compatibility(props, path)? {
                return Ok(Selected::Skipped(reason));
            }
            let tags = self.tags(props, path)?;
            let raw_tags = match self.run.opts.tailor {
                Some(_) => get(props, "tags", path)?.map(|(_, v)| v.clone()),
                None => None,
            };
            (self.containers_path(props)?, tags, raw_tags)
        };
        let has = |t: Tag| tags.iter().any(|(tag, _)| *tag == t);
        if has(Tag::Ignore) {
            return Ok(Selected::Skipped("tagged kilt-ignore".into()));
        }
        if self.run.opts.opt_in && !has(Tag::Include) && !has(Tag::IncludeContainers) {
            return Ok(Selected::Skipped(
                "opt-in mode and not tagged kilt-include or kilt-include-containers".into(),
            ));
        }
        if let Value::Object(props) = target {
            if let Some(family) = windows_family(props, path, self.params)? {
                return Ok(Selected::Skipped(format!(
                    "its operating system family is {family}: kiltx-tracer traces Linux processes only"
                )));
            }
        }
        Ok(Selected::Task(SelectedTask {
            containers_path,
            tags,
            raw_tags,
        }))
    }

    /// `Some(reason)` when the task definition is not for Fargate and EC2 is not included.
    fn compatibility(
        &self,
        props: &Map<String, Value>,
        path: &Path,
    ) -> Result<Option<String>, Error> {
        if self.run.opts.include_ec2 {
            return Ok(None);
        }
        let key = "requiresCompatibilities";
        let shown = self.site.dialect.key(key);
        let not_fargate = || {
            Some(format!(
                "{shown} does not include FARGATE (pass --include-ec2 to patch it anyway)"
            ))
        };
        let Some((k, value)) = get(props, key, path)? else {
            return Ok(match self.site.shape {
                Shape::CloudFormation => not_fargate(),
                _ => None,
            });
        };
        let kpath = at(path, &k);
        // Evaluated as a whole: `[!Ref LaunchType]`, `!Ref Types` (a list parameter), `!If`...
        let Some(evaluated) = self.params.eval(value) else {
            let (why, fix) = self.params.explain(value);
            return Err(Error::invalid_hint(
                kpath,
                format!(
                    "kiltx must know whether the task definition runs on Fargate, and its {shown} cannot be known: {why}"
                ),
                format!("{fix}; or pass --include-ec2 to patch it whatever its launch type"),
            ));
        };
        let list = match &evaluated {
            Value::Array(list) => list.as_slice(),
            Value::Null => &[],
            other => return Err(expected(kpath, "a list of launch types", other)),
        };
        let mut fargate = false;
        for (i, item) in list.iter().enumerate() {
            if string_of(item, &at(&kpath, i))? == "FARGATE" {
                fargate = true;
            }
        }
        Ok(if fargate { None } else { not_fargate() })
    }

    /// The selection tags present, with their container lists (empty for task-level tags).
    fn tags(
        &self,
        props: &Map<String, Value>,
        path: &Path,
    ) -> Result<Vec<(Tag, Vec<String>)>, Error> {
        let mut out = Vec::new();
        let Some((k, list)) = list_of(props, "tags", path)? else {
            return Ok(out);
        };
        let tpath = at(path, &k);
        for (i, t) in list.iter().enumerate() {
            if let Some(tag) = tag_entry(t, at(&tpath, i))? {
                out.push(tag);
            }
        }
        Ok(out)
    }

    /// The indexes of the containers to trace: not one of our sidecars, and chosen by the
    /// container selection (options over tags). A name the selection gives that no container
    /// has is an error.
    pub(super) fn select_containers(
        &self,
        roster: &Roster,
        tags: &[(Tag, Vec<String>)],
    ) -> Result<Vec<usize>, Vec<Error>> {
        let opts = self.run.opts;
        let include: Option<&Vec<String>> = opts.include_containers.as_ref().or_else(|| {
            tags.iter()
                .find(|(t, _)| *t == Tag::IncludeContainers)
                .map(|(_, v)| v)
        });
        let ignore_list: Vec<String> = tags
            .iter()
            .filter(|(t, _)| *t == Tag::IgnoreContainers)
            .flat_map(|(_, v)| v.iter().cloned())
            .chain(opts.ignore_containers.iter().cloned())
            .collect();
        let ignore = (!ignore_list.is_empty()).then_some(&ignore_list);
        let names = &roster.names;
        let mut errors = Vec::new();
        for list in [include, ignore].into_iter().flatten() {
            for wanted in list {
                if !names.iter().any(|n| n.as_deref() == Some(wanted.as_str())) {
                    errors.push(self.unknown_container(roster, wanted));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((0..names.len())
            .filter(|i| !roster.sidecar_at.contains(&Some(*i)))
            .filter(|i| {
                let n = names[*i].as_deref();
                include.is_none_or(|l| n.is_some_and(|n| l.iter().any(|x| x == n)))
                    && ignore.is_none_or(|l| !n.is_some_and(|n| l.iter().any(|x| x == n)))
            })
            .collect())
    }

    /// A selection names container `wanted`, which the task definition does not have (or,
    /// with intrinsic names, may not have).
    fn unknown_container(&self, roster: &Roster, wanted: &str) -> Error {
        let path = self.site.path.clone();
        if roster.names.iter().all(Option::is_some) {
            Error::invalid_hint(
                path,
                format!("a selection tag names container {wanted:?}, which task definition {} does not have", self.site.label),
                format!("containers are: {}", roster.display.join(", ")),
            )
        } else {
            Error::invalid_hint(
                path,
                format!("a selection tag names container {wanted:?}, but some container names are intrinsic functions, so kiltx cannot tell which containers it means"),
                "give the containers literal names, or drop the container selection tag",
            )
        }
    }
}

//! A container's command line, by Docker's rules: the original argv is the container's
//! `entryPoint` + `command` where it sets them, else its image's ENTRYPOINT/CMD (a `command`
//! alone replaces CMD only); the definition's templates render the new `entryPoint`/`command`
//! around it. Wrapping is recognised, so patching twice changes nothing.

use serde_json::{Map, Value};

use super::fields::{at, clone_error, get, list_of, set_list};
use super::task::Cx;
use super::{Frontend, Mode, NeededImage};
use crate::definition::{Arg, Definition, Splice};
use crate::error::{Error, Path};
use crate::image::ImageConfig;
use crate::intrinsic;

/// A container's `entryPoint` and `command` as written: the key each is under (when present
/// and not null), and its items.
struct Written {
    ep_key: Option<String>,
    ep: Vec<Value>,
    cmd_key: Option<String>,
    cmd: Vec<Value>,
}

impl Cx<'_> {
    /// Wrap container `name`'s command line. `Ok(true)` when newly wrapped, `Ok(false)` when
    /// it already was.
    pub(super) fn wrap_command(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<bool, Vec<Error>> {
        let written = self.written(m, path)?;
        if is_wrapped(self.def, &written.ep, &written.cmd) {
            self.check_wrapped(&written, path, name)
                .map_err(|e| vec![e])?;
            return Ok(false);
        }
        self.check_not_foreign(&written, path, name)
            .map_err(|e| vec![e])?;
        let (ep, cmd) = self
            .original_argv(m, written, path, name)
            .map_err(|e| vec![e])?;
        let spec = &self.def.containers;
        let d = self.site.dialect;
        let new_ep = render(&spec.entry_point, &ep, &cmd);
        let new_cmd = render(&spec.command, &ep, &cmd);
        set_list(m, "entryPoint", new_ep, d, path).map_err(|e| vec![e])?;
        set_list(m, "command", new_cmd, d, path).map_err(|e| vec![e])?;
        Ok(true)
    }

    /// The container's `entryPoint` and `command`. When either is malformed, the errors are
    /// reported with those patching the environment would report, to give them all at once.
    fn written(&self, m: &Map<String, Value>, path: &Path) -> Result<Written, Vec<Error>> {
        match (list_of(m, "entryPoint", path), list_of(m, "command", path)) {
            (Ok(ep), Ok(cmd)) => {
                let (ep_key, ep) = ep.map(|(k, l)| (k, l.clone())).unzip();
                let (cmd_key, cmd) = cmd.map(|(k, l)| (k, l.clone())).unzip();
                Ok(Written {
                    ep_key,
                    ep: ep.unwrap_or_default(),
                    cmd_key,
                    cmd: cmd.unwrap_or_default(),
                })
            }
            (ep, cmd) => {
                let mut errors: Vec<Error> = [ep.err(), cmd.err()].into_iter().flatten().collect();
                if let Err(e) = self.add_environment(&mut m.clone(), path) {
                    errors.push(e);
                }
                Err(errors)
            }
        }
    }

    /// A wrapped command line must still run something: if the splices matched nothing there
    /// is no program left to run, and nothing to recover it from.
    fn check_wrapped(&self, written: &Written, path: &Path, name: &str) -> Result<(), Error> {
        let spec = &self.def.containers;
        let literals = spec
            .entry_point
            .iter()
            .chain(&spec.command)
            .filter(|a| matches!(a, Arg::Literal(_)))
            .count();
        if written.ep.len() + written.cmd.len() != literals {
            return Ok(());
        }
        let d = self.site.dialect;
        let k = written
            .cmd_key
            .as_ref()
            .or(written.ep_key.as_ref())
            .cloned()
            .unwrap_or_default();
        Err(self.unpatchable(
            name,
            at(path, &k),
            "it runs the tracer's wrapper with no application command after it".into(),
            Some(format!(
                "restore the container's original {} and {}, and patch again",
                d.key("entryPoint"),
                d.key("command")
            )),
        ))
    }

    /// A container wrapped by the same launcher, but not the way this definition wraps it,
    /// would be wrapped twice.
    fn check_not_foreign(&self, written: &Written, path: &Path, name: &str) -> Result<(), Error> {
        if let (Some(launcher), Some(Value::String(first))) =
            (self.def.launcher(), written.ep.first())
        {
            if first == launcher {
                let k = written.ep_key.clone().unwrap_or_default();
                return Err(self.unpatchable(
                    name,
                    at(path, &k),
                    format!("it is already wrapped by {launcher}, but not the way this definition wraps it"),
                    Some("restore the container's original entryPoint/command and patch again".into()),
                ));
            }
        }
        Ok(())
    }

    /// The original argv, as (ENTRYPOINT, CMD), by Docker's rules.
    fn original_argv(
        &self,
        m: &Map<String, Value>,
        written: Written,
        path: &Path,
        name: &str,
    ) -> Result<(Vec<Value>, Vec<Value>), Error> {
        let (ep, cmd) = if !written.ep.is_empty() {
            (written.ep, written.cmd)
        } else {
            let config = self.image_config(m, path, name)?;
            let cmd = if written.cmd_key.is_some() && !written.cmd.is_empty() {
                written.cmd
            } else {
                strings(config.cmd.as_deref())
            };
            (strings(config.entrypoint.as_deref()), cmd)
        };
        if ep.is_empty() && cmd.is_empty() {
            let d = self.site.dialect;
            return Err(self.unpatchable(
                name,
                path.clone(),
                "it has nothing to run: no entryPoint or command, and its image has no ENTRYPOINT or CMD".into(),
                Some(format!("set {} or {} on the container", d.key("entryPoint"), d.key("command"))),
            ));
        }
        Ok((ep, cmd))
    }

    /// The ENTRYPOINT/CMD of the container's image, for the task's platform. In
    /// [`Mode::Recording`] an unknown image is recorded and reads as an empty argv.
    fn image_config(
        &self,
        m: &Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<ImageConfig, Error> {
        let d = self.site.dialect;
        let hint = match self.run.opts.frontend {
            Frontend::Cli => format!(
                "set {ep} (and {cmd}) on the container, or pin the image's configuration with --image-config FILE (JSON: {{\"IMAGE\": {{\"entrypoint\": [...], \"cmd\": [...]}}}})",
                ep = d.key("entryPoint"),
                cmd = d.key("command")
            ),
            // The macro reads images from their registries; what it cannot read, only the
            // template can give.
            Frontend::Macro => format!(
                "set {ep} (and {cmd}) on the container in the template",
                ep = d.key("entryPoint"),
                cmd = d.key("command")
            ),
        };
        let (image, ipath) = self.image(m, path, name, &hint)?;
        let platform = self.platform.as_ref().map_err(clone_error)?;
        match self.run.images.get_for(&image, platform) {
            Some(c) => Ok(c.clone()),
            None if self.run.mode() == Mode::Recording => {
                self.run.record(NeededImage {
                    image,
                    platform: platform.clone(),
                    container: format!("{name:?} in {}", self.site.label),
                    path: ipath,
                });
                Ok(ImageConfig {
                    entrypoint: None,
                    cmd: Some(vec![String::new()]),
                })
            }
            None => Err(self.unpatchable(
                name,
                ipath,
                format!(
                    "it has no entryPoint, and the ENTRYPOINT/CMD of its image {image:?} are not known, so its original command line cannot be rebuilt"
                ),
                Some(hint),
            )),
        }
    }

    /// The container's image reference (intrinsics evaluated when their inputs are known),
    /// and the path to it.
    fn image(
        &self,
        m: &Map<String, Value>,
        path: &Path,
        name: &str,
        hint: &str,
    ) -> Result<(String, Path), Error> {
        let Some((k, image)) = get(m, "image", path)? else {
            return Err(self.unpatchable(
                name,
                path.clone(),
                "it has no image and no entryPoint".into(),
                Some(format!("give it an {}", self.site.dialect.key("image"))),
            ));
        };
        let ipath = at(path, &k);
        let image = match image {
            Value::String(s) => s.clone(),
            other => match self.params.scalar(other) {
                Some(s) => s,
                None => {
                    let (why, fix) = self.params.explain(other);
                    return Err(self.unpatchable(
                        name,
                        ipath,
                        format!(
                            "it has no entryPoint, and its image is {} whose value kiltx cannot know ({why}), so the image's ENTRYPOINT/CMD cannot be looked up",
                            intrinsic::describe(other)
                        ),
                        Some(match self.run.opts.frontend {
                            Frontend::Cli => format!("{fix}; or {hint}"),
                            Frontend::Macro => fix,
                        }),
                    ));
                }
            },
        };
        Ok((image, ipath))
    }
}

fn strings(v: Option<&[String]>) -> Vec<Value> {
    v.unwrap_or_default()
        .iter()
        .cloned()
        .map(Value::String)
        .collect()
}

/// Render a template with the original argv.
pub(super) fn render(args: &[Arg], ep: &[Value], cmd: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for a in args {
        match a {
            Arg::Literal(s) => out.push(Value::String(s.clone())),
            Arg::Splice(s) => match s.splice {
                Splice::Argv => {
                    out.extend_from_slice(ep);
                    out.extend_from_slice(cmd);
                }
                Splice::EntryPoint => out.extend_from_slice(ep),
                Splice::Command => out.extend_from_slice(cmd),
            },
        }
    }
    out
}

/// Whether a container's `entryPoint` and `command` are what `def` wraps containers into, for
/// some original argv: the engine's own "already wrapped" test (used by `kiltx lint`).
pub fn is_wrapped(def: &Definition, entry_point: &[Value], command: &[Value]) -> bool {
    matches(&def.containers.entry_point, entry_point) && matches(&def.containers.command, command)
}

/// Whether `actual` is what `args` renders to for some argv (splices match any run).
pub(super) fn matches(args: &[Arg], actual: &[Value]) -> bool {
    match args.split_first() {
        None => actual.is_empty(),
        Some((Arg::Literal(s), rest)) => {
            actual.first().and_then(Value::as_str) == Some(s.as_str())
                && matches(rest, &actual[1..])
        }
        Some((Arg::Splice(_), rest)) => (0..=actual.len()).any(|k| matches(rest, &actual[k..])),
    }
}

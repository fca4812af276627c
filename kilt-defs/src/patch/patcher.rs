//! The engine's entry: a [`Patcher`] holds what one run patches with (definition, options,
//! image configurations) and its [`Mode`], and patches whole documents or one task definition.

use std::cell::RefCell;

use serde_json::Value;

use super::fields::get_mut;
use super::platform::task_platform;
use super::task::Cx;
use super::{unique_needs, Known, NeededImage, Options, Report, Sections, TaskOutcome};
use crate::definition::Definition;
use crate::error::Error;
use crate::image::ImageConfigs;
use crate::shape::{self, Shape, Site};

/// What a run does when a container needs its image's ENTRYPOINT/CMD and `images` does not
/// have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The container cannot be patched: an error.
    #[default]
    Plain,
    /// The image is recorded (see [`Patcher::into_needs`]) and the container patched with an
    /// empty argv, so the output is only good for discarding. This is how callers learn which
    /// images to look up before the real run ([`needed_images`](crate::document::needed_images),
    /// used by `kiltx patch` and `kiltx lint`, and the Lambda macro's).
    Recording,
}

/// One patch run: the definition to apply, the options, the images' configurations, the mode.
#[derive(Debug)]
pub struct Patcher<'a> {
    pub(super) def: &'a Definition,
    pub(super) opts: &'a Options,
    pub(super) images: &'a ImageConfigs,
    mode: Mode,
    /// The images recorded in [`Mode::Recording`], in the order met.
    needs: RefCell<Vec<NeededImage>>,
}

impl<'a> Patcher<'a> {
    pub fn new(
        def: &'a Definition,
        opts: &'a Options,
        images: &'a ImageConfigs,
        mode: Mode,
    ) -> Patcher<'a> {
        Patcher {
            def,
            opts,
            images,
            mode,
            needs: RefCell::new(Vec::new()),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn options(&self) -> &'a Options {
        self.opts
    }

    /// Patch `value` (a document of `shape`) in place. For [`Shape::Describe`] the value is
    /// first turned into register-task-definition input. Errors are those of every task
    /// definition.
    pub fn patch(&self, value: &mut Value, shape: Shape) -> Result<Report, Error> {
        if shape == Shape::Describe {
            *value = shape::describe_to_register(value)?;
        }
        let sites = shape::sites(value, shape)?;
        let params = match shape {
            Shape::CloudFormation => Known::new(Sections::of(value), self.opts),
            _ => Known::new(Sections::default(), self.opts),
        };
        let mut report = Report::default();
        let mut errors = Vec::new();
        for site in &sites {
            let Some(target) = get_mut(value, &site.path) else {
                continue;
            };
            match self.patch_site(target, site, &params) {
                Ok(outcome) => report.tasks.push(outcome),
                Err(Error::Multiple(mut e)) => errors.append(&mut e),
                Err(e) => errors.push(e),
            }
        }
        Error::from_many(errors)?;
        Ok(report)
    }

    /// Patch one task definition: `target` is the value at `site.path` (the properties object,
    /// or for [`Shape::Containers`] the containers array). `params` are the template's parameter
    /// values (see [`Known`]). Errors carry paths from the document root.
    pub fn patch_site(
        &self,
        target: &mut Value,
        site: &Site,
        params: &Known,
    ) -> Result<TaskOutcome, Error> {
        let platform = task_platform(target, site, params)?;
        let cx = Cx {
            run: self,
            site,
            def: self.def,
            params,
            platform: &platform,
        };
        match cx.patch_task(target) {
            Ok(status) => Ok(TaskOutcome {
                label: site.label.clone(),
                status,
            }),
            Err(errors) => Err(Error::from_many(errors).err().unwrap_or_else(|| {
                Error::invalid(
                    site.path.clone(),
                    "internal error: failure without a reason",
                )
            })),
        }
    }

    /// The images recorded (in [`Mode::Recording`]), once per (image, platform), in their
    /// first order.
    pub fn into_needs(self) -> Vec<NeededImage> {
        unique_needs(self.needs.into_inner())
    }

    /// Record an image a container needs (see [`Mode::Recording`]).
    pub(super) fn record(&self, need: NeededImage) {
        self.needs.borrow_mut().push(need);
    }

    /// Hand what was recorded to `needs`, as met (for the functions below).
    fn hand_over(self, needs: Option<&RefCell<Vec<NeededImage>>>) {
        if let Some(needs) = needs {
            needs.borrow_mut().append(&mut self.needs.into_inner());
        }
    }
}

/// [`Mode::Recording`] when `needs` is given.
fn mode_of(needs: Option<&RefCell<Vec<NeededImage>>>) -> Mode {
    match needs {
        Some(_) => Mode::Recording,
        None => Mode::Plain,
    }
}

/// Patch `value` (a document of `shape`) in place: [`Patcher::patch`] in [`Mode::Plain`].
pub fn patch(
    value: &mut Value,
    shape: Shape,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
) -> Result<Report, Error> {
    Patcher::new(def, opts, images, Mode::Plain).patch(value, shape)
}

/// [`Patcher::patch`], in [`Mode::Recording`] into `needs` when it is given. Kept for callers
/// outside this crate written before [`Patcher`] (the Lambda macro); new code uses a `Patcher`.
pub fn patch_recording(
    value: &mut Value,
    shape: Shape,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    needs: Option<&RefCell<Vec<NeededImage>>>,
) -> Result<Report, Error> {
    let patcher = Patcher::new(def, opts, images, mode_of(needs));
    let result = patcher.patch(value, shape);
    patcher.hand_over(needs);
    result
}

/// [`Patcher::patch_site`], in [`Mode::Recording`] into `needs` when it is given. Kept for
/// callers outside this crate written before [`Patcher`] (the Lambda macro).
pub fn patch_site_recording(
    target: &mut Value,
    site: &Site,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    params: &Known,
    needs: Option<&RefCell<Vec<NeededImage>>>,
) -> Result<TaskOutcome, Error> {
    let patcher = Patcher::new(def, opts, images, mode_of(needs));
    let result = patcher.patch_site(target, site, params);
    patcher.hand_over(needs);
    result
}

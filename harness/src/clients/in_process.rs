//! Clients written in Rust, as closures ([`crate::clients::Client::from_fn`]).

use std::future::Future;
use std::sync::Arc;

use super::adapter::{ClientAdapter, ClientError, InProcess, Launch, Target};
use crate::scenario::{Action, Setting};

/// A closure with the actions and settings it declares.
pub(super) struct FnClient {
    name: String,
    version: String,
    actions: Vec<Action>,
    settings: Vec<Setting>,
    run: InProcess,
}

impl FnClient {
    pub(super) fn new<F, Fut>(
        name: &str,
        version: &str,
        actions: &[Action],
        settings: &[Setting],
        run: F,
    ) -> FnClient
    where
        F: Fn(Target) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ClientError>> + Send + 'static,
    {
        FnClient {
            name: name.to_owned(),
            version: version.to_owned(),
            actions: actions.to_vec(),
            settings: settings.to_vec(),
            run: Arc::new(move |t| Box::pin(run(t))),
        }
    }
}

impl ClientAdapter for FnClient {
    fn name(&self) -> &str {
        &self.name
    }
    fn program(&self) -> Option<String> {
        None
    }
    fn version(&self) -> String {
        self.version.clone()
    }
    fn actions(&self) -> Vec<Action> {
        self.actions.clone()
    }
    fn settings(&self) -> Vec<Setting> {
        self.settings.clone()
    }
    fn launch(&self, _: &Target) -> Launch {
        Launch::InProcess(self.run.clone())
    }
}

//! Data connections, apart from the commands that ask for them: the plan for the next one
//! (passive listener or active target) and the task that runs one transfer over it.

mod plan;
mod task;

pub(crate) use plan::{open_listener, DataPlan};
pub(crate) use task::{CancelReason, DataTls, Job, Task, TransferEnd};

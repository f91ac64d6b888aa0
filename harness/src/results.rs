//! What a run writes: `results.json` (schema 1), `junit.xml` and `index.html`, all from
//! [`ftpspec_report`]; the schema is documented in [`ftpspec_report::model`].

pub use ftpspec_report::{CaseRole, ClientInfo, RunResults, SCHEMA};

//! Command handlers, one file per family. Each opens with the RFC section it implements.

pub(crate) mod datachan;
pub(crate) mod fs;
pub(crate) mod info;
pub(crate) mod login;
pub(crate) mod params;
pub(crate) mod security;
pub(crate) mod transfer;

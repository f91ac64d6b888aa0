//! The control connection: line codec, command parser, reply encoder.

pub mod codec;
pub(crate) mod conn;
pub mod parser;
pub mod reply;

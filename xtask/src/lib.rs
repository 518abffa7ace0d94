//! The project's build tasks. `cargo xtask codegen` turns the OpenAPI specs into the
//! generated client code; `cargo xtask codegen --check` fails when that code is stale;
//! `cargo xtask official-check` runs the generator over MongoDB's whole official spec.

pub mod codegen;
pub mod glue;
pub mod mocks;
pub mod normalize;
pub mod official;
mod table;
pub mod wire;

//! The project's build tasks. `cargo xtask codegen` turns the OpenAPI specs into the
//! generated client code; `cargo xtask codegen --check` fails when that code is stale.

pub mod codegen;
pub mod glue;
pub mod normalize;
mod table;

//! Emits the operation table: what the runtime reads of each operation (its names, whether
//! its answer is a download, its parameter rules), recorded from the spec by the
//! normalisation pass. The media types are written into each `send()` (see the glue).

use proc_macro2::TokenStream;
use quote::quote;

use crate::normalize::{Bound, Location, Operation, ParamRule};

/// The table as Rust items, with `runtime` the path of the runtime crate, which defines
/// `Operation`, `Param`, `Location` and `Bound`.
pub fn tokens(operations: &[Operation], runtime: &TokenStream) -> TokenStream {
    let entries = operations.iter().map(|op| {
        let Operation {
            id,
            operation_id,
            params,
            streamed,
            ..
        } = op;
        let params = params.iter().map(|p| param(p, runtime));
        quote! {
            #runtime::Operation {
                id: #id,
                operation_id: #operation_id,
                streamed: #streamed,
                params: &[#(#params),*],
            }
        }
    });
    quote! {
        /// What the runtime reads of each operation: its names, whether its answer is a
        /// download, and the parameter rules to check before a request leaves. Recorded
        /// from the spec.
        pub(crate) static OPERATIONS: &[#runtime::Operation] = &[#(#entries),*];
    }
}

fn param(p: &ParamRule, runtime: &TokenStream) -> TokenStream {
    let ParamRule {
        name,
        location,
        pattern,
        minimum,
        maximum,
        min_length,
        max_length,
        requires,
        not_after,
    } = p;
    let location = match location {
        Location::Path => quote!(#runtime::Location::Path),
        Location::Query => quote!(#runtime::Location::Query),
        Location::Header => quote!(#runtime::Location::Header),
    };
    let pattern = option(pattern.as_ref().map(|p| quote!(#p)));
    let minimum = option(minimum.map(|b| bound(b, runtime)));
    let maximum = option(maximum.map(|b| bound(b, runtime)));
    let min_length = option(min_length.map(|n| quote!(#n)));
    let max_length = option(max_length.map(|n| quote!(#n)));
    let not_after = option(not_after.as_ref().map(|n| quote!(#n)));
    quote! {
        #runtime::Param {
            name: #name,
            location: #location,
            pattern: #pattern,
            minimum: #minimum,
            maximum: #maximum,
            min_length: #min_length,
            max_length: #max_length,
            requires: &[#(#requires),*],
            not_after: #not_after,
        }
    }
}

fn bound(b: Bound, runtime: &TokenStream) -> TokenStream {
    match b {
        Bound::Integer(i) => quote!(#runtime::Bound::Integer(#i)),
        Bound::Number(n) => quote!(#runtime::Bound::Number(#n)),
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

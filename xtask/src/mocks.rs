//! Emits the typed mocks of a spec's operations: progenitor's `httpmock` helpers (one
//! method per operation on `MockServerExt`, a `When` and a `Then` per operation), made
//! to fit Atlas:
//! - path matchers escape the regex metacharacters of the path and of parameter values,
//!   so `cluster0.abc` does not match `cluster0Xabc`, and a parameter matches one path
//!   segment only, encoded as the runtime encodes it (`a%2Cb`);
//! - every mock matches the operation's versioned `Accept` media type, the one the
//!   client sends;
//! - success responses answer with that media type as `Content-Type`, not
//!   `application/json`; error responses keep the spec's media type;
//! - streamed (binary) success responses take the raw bytes of the body.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use heck::ToUpperCamelCase;
use openapiv3::OpenAPI;
use progenitor::{GenerationSettings, Generator};
use quote::quote;
use syn::visit_mut::VisitMut;

use crate::normalize::Operation;

/// The mocks of the operations of a normalised spec, as a formatted Rust module body,
/// with `crate_path` the path of the generated client crate (such as `atlas_client`) and
/// `runtime` the runtime's (`::atlas_runtime`), whose path encoding the matchers expect.
pub fn generate(
    spec: &OpenAPI,
    operations: &[Operation],
    settings: &GenerationSettings,
    crate_path: &str,
    runtime: &proc_macro2::TokenStream,
) -> Result<String> {
    let tokens = Generator::new(settings)
        .httpmock(spec, crate_path)
        .map_err(|e| anyhow!("progenitor cannot generate the mocks: {e}"))?;
    let mut file: syn::File =
        syn::parse2(tokens).context("progenitor produced mocks that do not parse")?;
    rewrite(&mut file, operations, runtime)?;
    Ok(prettyplease::unparse(&file))
}

/// The rewrites listed in the module docs, applied to progenitor's output.
fn rewrite(
    file: &mut syn::File,
    operations: &[Operation],
    runtime: &proc_macro2::TokenStream,
) -> Result<()> {
    let by_when: BTreeMap<String, &Operation> = operations
        .iter()
        .map(|op| (format!("{}_when", op.id).to_upper_camel_case(), op))
        .collect();
    let by_then: BTreeMap<String, &Operation> = operations
        .iter()
        .map(|op| (format!("{}_then", op.id).to_upper_camel_case(), op))
        .collect();
    let module = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "operations" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the mocks have no `operations` module"))?;
    let mut seen = 0;
    for item in module.1.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(ty) = &*imp.self_ty else {
            continue;
        };
        let name = ty
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if let Some(op) = by_when.get(&name) {
            seen += 1;
            PathMatchers { runtime }.visit_item_impl_mut(imp);
            match_accept(imp, &op.accept)?;
        } else if let Some(op) = by_then.get(&name) {
            seen += 1;
            let mut responses = Responses {
                accept: &op.accept,
                streamed: op.streamed,
                error: None,
            };
            responses.visit_item_impl_mut(imp);
            if let Some(e) = responses.error {
                return Err(anyhow!("mock of `{}`: {e}", op.operation_id));
            }
        }
    }
    if seen != 2 * operations.len() {
        return Err(anyhow!(
            "the mocks name {seen} `When`/`Then` types for {} operations; \
             progenitor names them differently from the operation table",
            operations.len()
        ));
    }
    Ok(())
}

/// `regex::escape` of the regex syntax crate: a backslash before every metacharacter.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A path regex of progenitor, `^/a/[^/]*/b/{}$`, rebuilt with its constant parts
/// escaped. `[^/]*` and `.*` (any other parameter) become `[^/]*`, one segment; `{}`
/// (the value of the parameter matched) stays, doubled braces around it when `format`.
fn escape_path_regex(regex: &str, format: bool) -> Option<String> {
    let inner = regex.strip_prefix('^')?.strip_suffix('$')?;
    let mut out = String::from("^");
    let mut rest = inner;
    while !rest.is_empty() {
        let next = ["[^/]*", ".*", "{}"]
            .iter()
            .filter_map(|marker| rest.find(marker).map(|at| (at, *marker)))
            .min();
        let (constant, marker) = match next {
            Some((at, marker)) => (&rest[..at], Some(marker)),
            None => (rest, None),
        };
        let escaped = escape(constant);
        if format {
            out.push_str(&escaped.replace('{', "{{").replace('}', "}}"));
        } else {
            out.push_str(&escaped);
        }
        match marker {
            Some("{}") => out.push_str("{}"),
            Some(_) => out.push_str("[^/]*"),
            None => {}
        }
        rest = &rest[constant.len() + marker.map_or(0, str::len)..];
    }
    out.push('$');
    Some(out)
}

/// Escapes the path regexes of a `When`: the literal of `Regex::new("...")`, and the
/// format string and the value of `Regex::new(&format!("...", value.to_string()))`.
struct PathMatchers<'a> {
    runtime: &'a proc_macro2::TokenStream,
}

impl VisitMut for PathMatchers<'_> {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        syn::visit_mut::visit_expr_call_mut(self, call);
        let syn::Expr::Path(func) = &*call.func else {
            return;
        };
        let is_regex_new = func.path.segments.len() >= 2
            && func
                .path
                .segments
                .iter()
                .rev()
                .nth(1)
                .is_some_and(|s| s.ident == "Regex")
            && func.path.segments.last().is_some_and(|s| s.ident == "new");
        if !is_regex_new || call.args.len() != 1 {
            return;
        }
        match &mut call.args[0] {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }) => {
                if let Some(escaped) = escape_path_regex(&lit.value(), false) {
                    *lit = syn::LitStr::new(&escaped, lit.span());
                }
            }
            syn::Expr::Reference(reference) => {
                let syn::Expr::Macro(mac) = &mut *reference.expr else {
                    return;
                };
                if !mac.mac.path.is_ident("format") {
                    return;
                }
                let parser =
                    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
                let Ok(args) = mac.mac.parse_body_with(parser) else {
                    return;
                };
                let mut args = args.into_iter();
                let (
                    Some(syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    })),
                    Some(value),
                    None,
                ) = (args.next(), args.next(), args.next())
                else {
                    return;
                };
                // The literal is a format string: its braces are already doubled.
                let Some(escaped) =
                    escape_path_regex(&lit.value().replace("{{", "{").replace("}}", "}"), true)
                else {
                    return;
                };
                let lit = syn::LitStr::new(&escaped, lit.span());
                let runtime = self.runtime;
                mac.mac.tokens = quote!(
                    #lit,
                    ::regex::escape(&#runtime::operation::encode_path(&#value))
                );
            }
            _ => {}
        }
    }
}

/// Makes `When::new` match the `Accept` header the client sends.
fn match_accept(imp: &mut syn::ItemImpl, accept: &str) -> Result<()> {
    let body = imp
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "new" => Some(f),
            _ => None,
        })
        .and_then(|f| match f.block.stmts.as_mut_slice() {
            [syn::Stmt::Expr(syn::Expr::Call(call), None)] if call.args.len() == 1 => {
                Some(&mut call.args[0])
            }
            _ => None,
        })
        .ok_or_else(|| anyhow!("a `When::new` of the mocks is not `Self(inner...)`"))?;
    *body = syn::parse2(quote!(#body.header("accept", #accept)))?;
    Ok(())
}

/// Rewrites the `Content-Type` of a `Then`'s success responses, and the body of
/// streamed ones.
struct Responses<'a> {
    accept: &'a str,
    streamed: bool,
    error: Option<String>,
}

impl VisitMut for Responses<'_> {
    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        let mut status = Status(None);
        status.visit_block_mut(&mut f.block);
        let success = f.sig.ident == "success" || status.0.is_some_and(|s| (200..300).contains(&s));
        if !success {
            return;
        }
        let mut bodies = Bodies {
            accept: self.accept,
            streamed: self.streamed,
            rewritten: false,
        };
        bodies.visit_block_mut(&mut f.block);
        if self.streamed && bodies.rewritten {
            for input in f.sig.inputs.iter_mut() {
                if let syn::FnArg::Typed(arg) = input
                    && matches!(&*arg.pat, syn::Pat::Ident(i) if i.ident == "value")
                {
                    *arg.ty = syn::parse_quote!(impl AsRef<[u8]>);
                }
            }
        } else if self.streamed {
            self.error = Some(format!(
                "its success response `{}` carries no body to send as bytes",
                f.sig.ident
            ));
        }
    }
}

/// The status literal of a response helper, `.status(200)`.
struct Status(Option<u16>);

impl VisitMut for Status {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        if call.method == "status"
            && let Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            })) = call.args.first()
        {
            self.0 = n.base10_parse().ok();
        }
    }
}

/// `.header("content-type", "application/json")` to the operation's media type, and,
/// for a streamed operation, `.json_body(value)` to `.body(value)`.
struct Bodies<'a> {
    accept: &'a str,
    streamed: bool,
    rewritten: bool,
}

impl VisitMut for Bodies<'_> {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        let is_str = |e: &syn::Expr, want: &str| {
            matches!(e, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })
                if s.value().eq_ignore_ascii_case(want))
        };
        if call.method == "header"
            && call.args.len() == 2
            && is_str(&call.args[0], "content-type")
            && is_str(&call.args[1], "application/json")
        {
            let accept = self.accept;
            call.args[1] = syn::parse_quote!(#accept);
        } else if self.streamed && call.method == "json_body" {
            call.method = syn::Ident::new("body", call.method.span());
            self.rewritten = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape_path_regex;

    #[test]
    fn constants_are_escaped_and_parameters_stay_one_segment() {
        assert_eq!(
            escape_path_regex("^/api/atlas/v1.0/groups/[^/]*/x/[^/]*$", false).unwrap(),
            r"^/api/atlas/v1\.0/groups/[^/]*/x/[^/]*$"
        );
        assert_eq!(
            escape_path_regex("^/api/atlas/v1.0/groups/.*/x/{}$", true).unwrap(),
            r"^/api/atlas/v1\.0/groups/[^/]*/x/{}$"
        );
    }
}

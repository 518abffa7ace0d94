//! What joins progenitor's output to the runtime, emitted into every generated client:
//! - each builder's `send()` handing its request to the runtime
//!   (`atlas_runtime::Runtime::call`) where progenitor calls its hooks, and failing with
//!   the runtime's `Error` (progenitor's variants, and failures of the runtime's own as
//!   values); a `send()` calling the hooks in another shape is refused, naming the shape
//!   expected;
//! - the `FromRuntime` implementation and `Client::builder()`, `authenticate()`,
//!   `revoke_token()`;
//! - `save_to` / `save_decompressed_to` on the builders of gzip downloads, sending the
//!   builder again when a transfer breaks off, as the client's retry policy allows;
//! - where a target asks for `send_raw()`, each builder's `send()` split in two: a private
//!   `exchange()` that builds and sends the request, and the decoding of its answer;
//!   `send_raw()` shares `exchange()`, so no request is built in two places (a `send()` of
//!   another shape than progenitor's is refused, naming the shape expected);
//! - rewrites of each builder's `send()`: the operation's exact `Accept` (and
//!   `Content-Type`) set once where progenitor writes `application/json` and
//!   `api-version`; IP-address parameters normalised and every parameter rule checked on
//!   the typed values the builder holds, before the request is built; answers decoded by
//!   the runtime's strict, status-first decoder;
//! - `#[deprecated]` on the methods of deprecated operations, and progenitor's conversion
//!   messages reworded to name the parameter as it is on the wire;
//! - the setters of parameters marked `x-epoch` taking `SystemTime` and
//!   `chrono::DateTime<Utc>` beside an `i64` in the parameter's unit;
//! - `stream()` and `all()` on the builders of operations paged by `pageNum` and
//!   `itemsPerPage` whose answer has Atlas's paginated shape (`results`, `totalCount`),
//!   walking every page through `atlas_runtime::paginate`, and `Page` on that answer;
//! - strings constrained by a `pattern` or lengths: checked when a value is built (what we
//!   send), never when an answer is decoded (`validate()` checks one on demand), and
//!   patterns compiled as OpenAPI reads them, ECMA-262 in Unicode mode;
//! - documentation on every public item progenitor and typify leave without it: builder
//!   setters carry their parameter's description from the spec, or their field's.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;

use crate::normalize::{Operation, Refusal, sanitize_snake};

/// The items every generated client gets beside progenitor's code. None depends on the
/// operations: what does (`save_to`, page walks) goes into the `builder` module, see
/// [`rewrite`].
pub fn items(runtime: &TokenStream) -> TokenStream {
    quote! {
        impl #runtime::FromRuntime for Client {
            fn from_runtime(base_url: &str, runtime: #runtime::Runtime) -> Self {
                Self::new_with_client(base_url, runtime.http().clone(), runtime)
            }
        }

        impl Client {
            /// A builder for a client: base URL, credentials, timeouts, retries.
            pub fn builder() -> #runtime::ClientBuilder<Self> {
                #runtime::ClientBuilder::default()
            }

            /// Gets a service-account token now, to check the credentials before the first
            /// call. Calls fetch tokens by themselves; this is never required.
            ///
            /// # Errors
            ///
            /// The token was refused or could not be fetched, or the client has no
            /// service account.
            pub async fn authenticate(&self) -> ::std::result::Result<(), #runtime::AuthError> {
                self.inner.authenticate(progenitor_client::ClientInfo::baseurl(self)).await
            }

            /// Revokes the service-account token in use (`/api/oauth/revoke`); the next call
            /// fetches a new one.
            ///
            /// # Errors
            ///
            /// Atlas refused, or the client has no service account.
            pub async fn revoke_token(&self) -> ::std::result::Result<(), #runtime::AuthError> {
                self.inner.revoke_token(progenitor_client::ClientInfo::baseurl(self)).await
            }
        }
    }
}

/// `save_to` and `save_decompressed_to` on the builder of every gzip download, in the
/// `builder` module, where the builder's client (and through it the runtime's retry
/// policy) is in reach: `atlas_runtime::download::save` sends a clone of the builder once
/// per attempt, so that a transfer that breaks off is sent again as the policy allows.
fn download_saves(file: &mut syn::File, operations: &[Operation], runtime: &TokenStream) {
    let mut saves: Vec<syn::Item> = operations
        .iter()
        .filter(|op| op.streamed && op.bodiless_success.is_empty() && op.accept.ends_with("gzip"))
        .map(|op| {
            let builder = format_ident!("{}", builder_name(op));
            // A request that must not be sent twice is sent once, as the runtime does.
            let idempotent = matches!(
                op.method.as_str(),
                "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE"
            );
            let policy = if idempotent {
                quote!(ClientInfo::inner(self.client).retry_policy().clone())
            } else {
                quote!(#runtime::RetryPolicy::never())
            };
            syn::parse_quote! {
                impl #builder<'_> {
                    /// Sends the request and saves the gzip file, verified (CRC and length),
                    /// at `destination`: a file path, or a directory (existing, or ending in
                    /// `/`) in which Atlas's file name is used. The destination is checked
                    /// before anything is sent; a failure leaves nothing behind. A transfer
                    /// that breaks off is sent again from the start, as the client's retry
                    /// policy allows.
                    ///
                    /// # Errors
                    ///
                    /// The destination cannot be written, the request failed, the transfer
                    /// broke off on every attempt allowed, or the body is not a complete
                    /// gzip file.
                    pub async fn save_to(
                        self,
                        destination: impl AsRef<::std::path::Path>,
                    ) -> ::std::result::Result<#runtime::Download, #runtime::DownloadError> {
                        self.download_into(destination.as_ref(), false).await
                    }

                    /// Like `save_to`, but writes the decompressed text (the `.gz` suffix of
                    /// Atlas's file name dropped).
                    ///
                    /// # Errors
                    ///
                    /// As for `save_to`.
                    pub async fn save_decompressed_to(
                        self,
                        destination: impl AsRef<::std::path::Path>,
                    ) -> ::std::result::Result<#runtime::Download, #runtime::DownloadError> {
                        self.download_into(destination.as_ref(), true).await
                    }

                    async fn download_into(
                        self,
                        destination: &::std::path::Path,
                        decompress: bool,
                    ) -> ::std::result::Result<#runtime::Download, #runtime::DownloadError> {
                        let policy = #policy;
                        #runtime::download::save(
                            move || self.clone().send(),
                            &policy,
                            destination,
                            decompress,
                        )
                        .await
                    }
                }
            }
        })
        .collect();
    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && module.ident == "builder"
            && let Some((_, items)) = module.content.as_mut()
        {
            items.append(&mut saves);
        }
    }
}

/// Rewrites progenitor's output in place (see the module documentation). Every operation
/// whose `send()` does not have the shape the rewrites expect is refused.
pub fn rewrite(
    file: &mut syn::File,
    operations: &[Operation],
    runtime: &TokenStream,
    raw_sends: bool,
) -> std::result::Result<(), Vec<Refusal>> {
    let mut sends = Sends {
        raw_sends,
        operations,
        runtime,
        done: BTreeMap::new(),
        errors: Vec::new(),
    };
    sends.visit_file_mut(file);
    PathSegments { runtime }.visit_file_mut(file);
    let mut refused = sends.errors;
    if let Err(e) = runtime_error(file, runtime) {
        refused.push(e);
    }
    for op in operations {
        if !sends.done.contains_key(&op.id) && !refused.iter().any(|r| r.subject == label(op)) {
            refused.push(Refusal {
                subject: label(op),
                reason: "no builder `send()` for it in progenitor's output".to_string(),
            });
        }
    }
    if let Err(epoch) = epoch_setters(file, operations, runtime) {
        refused.extend(epoch);
    }
    if let Err(strings) = constrained_strings(file) {
        refused.extend(strings);
    }
    if let Err(enums) = open_enums(file, runtime) {
        refused.extend(enums);
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    page_walks(file, operations, runtime);
    download_saves(file, operations, runtime);
    mark_deprecated(file, operations);
    document(file, operations);
    Ok(())
}

/// The generated `Error` is the runtime's (`atlas_runtime::Error`), not progenitor's: the
/// re-export of progenitor's is replaced. Progenitor's generated code builds it unchanged.
fn runtime_error(file: &mut syn::File, runtime: &TokenStream) -> std::result::Result<(), Refusal> {
    let mut found = false;
    for item in &mut file.items {
        let syn::Item::Use(u) = item else { continue };
        let syn::UseTree::Path(path) = &mut u.tree else {
            continue;
        };
        let syn::UseTree::Group(group) = path.tree.as_mut() else {
            continue;
        };
        if path.ident != "progenitor_client" || !is_pub(&u.vis) {
            continue;
        }
        let before = group.items.len();
        group.items = std::mem::take(&mut group.items)
            .into_iter()
            .filter(|t| !matches!(t, syn::UseTree::Name(n) if n.ident == "Error"))
            .collect();
        found |= group.items.len() < before;
    }
    if !found {
        return Err(Refusal {
            subject: "the generated module".to_string(),
            reason: "progenitor's output re-exports no `progenitor_client::Error` to replace with the runtime's; the glue must learn its new shape".to_string(),
        });
    }
    file.items.insert(
        0,
        syn::parse_quote! {
            /// What a call fails with: progenitor's error, with the runtime's own failures
            /// (credentials that could not be used, answers that could not be decoded) as
            /// values of their own.
            pub use #runtime::Error;
        },
    );
    Ok(())
}

/// Path parameters encoded by the runtime ([`atlas_runtime::operation::encode_path`], as
/// Atlas's own SDK encodes them) instead of progenitor's `encode_path`, which leaves `,`,
/// `;`, `[`, `|`, `^` raw in a segment.
struct PathSegments<'a> {
    runtime: &'a TokenStream,
}

impl PathSegments<'_> {
    fn rewrite_tokens(&self, tokens: TokenStream) -> TokenStream {
        use proc_macro2::TokenTree;
        let runtime = self.runtime;
        let mut out = TokenStream::new();
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) if ident == "encode_path" => {
                    out.extend(quote!(#runtime::operation::encode_path));
                }
                TokenTree::Group(group) => {
                    let mut rewritten = proc_macro2::Group::new(
                        group.delimiter(),
                        self.rewrite_tokens(group.stream()),
                    );
                    rewritten.set_span(group.span());
                    out.extend([TokenTree::Group(rewritten)]);
                }
                other => out.extend([other]),
            }
        }
        out
    }
}

impl VisitMut for PathSegments<'_> {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        syn::visit_mut::visit_expr_call_mut(self, call);
        if let syn::Expr::Path(func) = call.func.as_mut()
            && func.path.is_ident("encode_path")
        {
            let runtime = self.runtime;
            *func = syn::parse_quote!(#runtime::operation::encode_path);
        }
    }

    // Progenitor builds URLs with `format!(.., encode_path(..))`: inside the macro's tokens.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = self.rewrite_tokens(std::mem::take(&mut mac.tokens));
    }

    fn visit_use_tree_mut(&mut self, tree: &mut syn::UseTree) {
        syn::visit_mut::visit_use_tree_mut(self, tree);
        if let syn::UseTree::Group(group) = tree {
            group.items = std::mem::take(&mut group.items)
                .into_iter()
                .filter(|item| !matches!(item, syn::UseTree::Name(n) if n.ident == "encode_path"))
                .collect();
        }
    }
}

fn label(op: &Operation) -> String {
    crate::normalize::label(Some(&op.operation_id), &op.method, &op.path)
}

/// The name progenitor gives an operation's builder type (`GetAccessHistoryCluster`).
fn builder_name(op: &Operation) -> String {
    heck::ToPascalCase::to_pascal_case(op.id.as_str())
}

/// Each operation by the name of its builder type.
fn by_builder(operations: &[Operation]) -> BTreeMap<String, &Operation> {
    operations.iter().map(|op| (builder_name(op), op)).collect()
}

/// The items of the top-level module `name` (`types`, `builder`) of progenitor's output.
pub(crate) fn module_items<'a>(
    file: &'a syn::File,
    name: &'a str,
) -> impl Iterator<Item = &'a syn::Item> + 'a {
    file.items
        .iter()
        .filter_map(move |item| match item {
            syn::Item::Mod(module) if module.ident == name => module.content.as_ref(),
            _ => None,
        })
        .flat_map(|(_, items)| items)
}

/// The same, to change them.
fn module_items_mut<'a>(
    file: &'a mut syn::File,
    name: &'a str,
) -> impl Iterator<Item = &'a mut syn::Item> + 'a {
    file.items
        .iter_mut()
        .filter_map(move |item| match item {
            syn::Item::Mod(module) if module.ident == name => module.content.as_mut(),
            _ => None,
        })
        .flat_map(|(_, items)| items)
}

struct Sends<'a> {
    /// Whether to add `send_raw()` beside each typed JSON `send()`.
    raw_sends: bool,
    operations: &'a [Operation],
    runtime: &'a TokenStream,
    done: BTreeMap<String, ()>,
    errors: Vec<Refusal>,
}

impl VisitMut for Sends<'_> {
    fn visit_item_impl_mut(&mut self, imp: &mut syn::ItemImpl) {
        syn::visit_mut::visit_item_impl_mut(self, imp);
        // Without `send_raw()`, `send()` is the request's only sender: kept whole (a second
        // async function per operation costs the whole official API about 80 MiB to build).
        if !self.raw_sends {
            return;
        }
        let Some(at) = imp
            .items
            .iter()
            .position(|item| matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
        else {
            return;
        };
        let syn::ImplItem::Fn(send) = &mut imp.items[at] else {
            return;
        };
        // Only the builders of the operation table (an impl can hold another `send`).
        if operation_info_id(&send.block).is_none() {
            return;
        }
        let exchange = match split_exchange(send) {
            Ok(exchange) => exchange,
            Err(e) => {
                self.errors.push(Refusal {
                    subject: format!("builder `{}`", type_name(&imp.self_ty).unwrap_or_default()),
                    reason: e,
                });
                return;
            }
        };
        let raw = raw_send(send, self.runtime);
        imp.items.insert(at, syn::ImplItem::Fn(exchange));
        imp.items.extend(raw.map(syn::ImplItem::Fn));
    }

    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        if f.sig.ident != "send" {
            return;
        }
        let Some(id) = operation_info_id(&f.block) else {
            return;
        };
        let Some(index) = self.operations.iter().position(|op| op.id == id) else {
            self.errors.push(Refusal {
                subject: format!("operation `{id}`"),
                reason: "progenitor generated an operation the table does not know".to_string(),
            });
            return;
        };
        let op = &self.operations[index];
        if let Err(e) = rewrite_send(f, op, index, self.runtime) {
            self.errors.push(Refusal {
                subject: label(op),
                reason: format!("{e:#}"),
            });
            return;
        }
        self.done.insert(op.id.clone(), ());
    }
}

/// Splits a rewritten `send()` in two: a private `exchange()`, everything up to the answer
/// received (parameters checked, request built, the runtime's call), and `send()`, which
/// decodes the answer `exchange()` returns, status first. `send_raw()` then shares the same
/// `exchange()`, and no request is built in two places. Expects the shape
/// [`route_through_runtime`] leaves: the answer bound by `let response = ...?;`, then the
/// match on its status; another shape is refused, naming the one expected.
fn split_exchange(send: &mut syn::ImplItemFn) -> std::result::Result<syn::ImplItemFn, String> {
    let expected = "`send()` binds the answer with `let response = ...?;` and then matches on its status; the glue must learn its new shape";
    let at = send
        .block
        .stmts
        .iter()
        .position(|stmt| {
            matches!(stmt, syn::Stmt::Local(local)
                if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "response")
                && local.init.as_ref().is_some_and(|init|
                    matches!(&*init.expr, syn::Expr::Try(_))))
        })
        .ok_or_else(|| expected.to_string())?;
    let syn::ReturnType::Type(_, output) = &send.sig.output else {
        return Err(expected.to_string());
    };
    let mut output = (**output).clone();
    let value = first_generic(&mut output, "Result").ok_or_else(|| expected.to_string())?;
    *value = syn::parse_quote!(::reqwest::Response);
    let head: Vec<syn::Stmt> = send.block.stmts[..=at].to_vec();
    let tail: Vec<syn::Stmt> = send.block.stmts[at + 1..].to_vec();
    let mut exchange = send.clone();
    exchange.attrs = vec![syn::parse_quote! {
        #[doc = "Checks the parameters, builds the request and sends it through the runtime: the answer as received, for `send()` (and `send_raw()`) to decode."]
    }];
    exchange.vis = syn::Visibility::Inherited;
    exchange.sig.ident = syn::Ident::new("exchange", send.sig.ident.span());
    exchange.sig.output = syn::parse_quote!(-> #output);
    exchange.block = syn::parse_quote!({
        #(#head)*
        Ok(response)
    });
    send.block = syn::parse_quote!({
        let response = self.exchange().await?;
        #(#tail)*
    });
    Ok(exchange)
}

/// `send_raw()`, beside a `send()` whose success is one typed JSON value: the same request,
/// the success body handed back as Atlas sent it, undecoded and unchecked, for callers that
/// keep what the typed value drops (`null`s, fields the spec does not declare) or read
/// large answers in one pass of their own.
fn raw_send(send: &syn::ImplItemFn, runtime: &TokenStream) -> Option<syn::ImplItemFn> {
    // Only `Result<ResponseValue<T>, Error<E>>` with T a plain type path.
    let syn::ReturnType::Type(_, output) = &send.sig.output else {
        return None;
    };
    let mut output = (**output).clone();
    let value = first_generic(&mut output, "Result")
        .and_then(|value| first_generic(value, "ResponseValue"))?;
    let syn::Type::Path(success) = &*value else {
        return None;
    };
    if success.path.segments.last()?.ident != "types"
        && !success.path.segments.iter().any(|s| s.ident == "types")
    {
        return None;
    }
    *value = syn::parse_quote!(#runtime::response::Bytes);
    let mut raw = send.clone();
    raw.sig.ident = syn::Ident::new("send_raw", send.sig.ident.span());
    raw.sig.output = syn::parse_quote!(-> #output);
    raw.attrs = vec![syn::parse_quote! {
        #[doc = "Sends the request like `send()`, but hands back the success body exactly as Atlas sent it, undecoded and unchecked: decoding it (and refusing what is not JSON) is the caller's."]
    }];
    struct Success<'a>(&'a TokenStream, bool);
    impl VisitMut for Success<'_> {
        fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
            let success = matches!(&arm.pat, syn::Pat::Lit(lit)
                if matches!(&lit.lit, syn::Lit::Int(i) if i.base10_parse::<u16>().is_ok_and(|s| (200..300).contains(&s))));
            if success {
                let runtime = self.0;
                let mut found = false;
                replace_decoder(&mut arm.body, runtime, &mut found);
                self.1 |= found;
            }
        }
    }
    let mut visitor = Success(runtime, false);
    visitor.visit_block_mut(&mut raw.block);
    visitor.1.then_some(raw)
}

fn replace_decoder(expr: &mut syn::Expr, runtime: &TokenStream, found: &mut bool) {
    struct Replace<'a>(&'a TokenStream, &'a mut bool);
    impl VisitMut for Replace<'_> {
        fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
            syn::visit_mut::visit_expr_call_mut(self, call);
            if is_path(&call.func, &["response", "from_response"]) {
                let runtime = self.0;
                *call.func = syn::parse_quote!(#runtime::response::raw);
                *self.1 = true;
            }
        }
    }
    Replace(runtime, found).visit_expr_mut(expr);
}

/// The operation id of `OperationInfo { operation_id: "..." }` in a `send()` body.
fn operation_info_id(block: &syn::Block) -> Option<String> {
    struct Find(Option<String>);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
            if e.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "OperationInfo")
            {
                for field in &e.fields {
                    if let (syn::Member::Named(name), syn::Expr::Lit(lit)) =
                        (&field.member, &field.expr)
                        && name == "operation_id"
                        && let syn::Lit::Str(s) = &lit.lit
                    {
                        self.0 = Some(s.value());
                    }
                }
            }
            syn::visit::visit_expr_struct(self, e);
        }
    }
    let mut find = Find(None);
    syn::visit::Visit::visit_block(&mut find, block);
    find.0
}

fn rewrite_send(
    f: &mut syn::ImplItemFn,
    op: &Operation,
    index: usize,
    runtime: &TokenStream,
) -> Result<()> {
    // The builder's fields, by the names progenitor gave them.
    let fields = destructured_fields(&f.block)
        .ok_or_else(|| anyhow::anyhow!("`send()` does not destructure the builder"))?;
    let field = |wire: &str| -> Result<syn::Ident> {
        let wanted = sanitize_snake(wire);
        fields
            .iter()
            .find(|f| {
                // A keyword gets a trailing underscore (`type` -> `type_`), or `r#`.
                let name = f.to_string();
                let name = name.trim_start_matches("r#");
                name == wanted || name.strip_suffix('_') == Some(wanted.as_str())
            })
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no builder field for parameter `{wire}`"))
    };

    // Checks on typed values, inserted before the URL is built.
    let mut checks: Vec<syn::Stmt> = Vec::new();
    for wire in &op.ip_params {
        let ident = field(wire)?;
        checks.push(syn::parse_quote! {
            let #ident = #runtime::operation::IpParam::normalize_ip(#ident, #wire)
                .map_err(Error::InvalidRequest)?;
        });
    }
    if !op.params.is_empty() {
        let values = op
            .param_names
            .iter()
            .map(|wire| {
                let ident = field(wire)?;
                Ok(quote!((#wire, #runtime::operation::value(&#ident))))
            })
            .collect::<Result<Vec<_>>>()?;
        checks.push(syn::parse_quote! {
            super::OPERATIONS[#index]
                .check(&[#(#values),*])
                .map_err(Error::InvalidRequest)?;
        });
    }
    route_through_runtime(&mut f.block.stmts)?;
    let stmts = &mut f.block.stmts;
    let url_at = stmts
        .iter()
        .position(|s| local_named(s, "url"))
        .ok_or_else(|| anyhow::anyhow!("`send()` builds no `url`"))?;
    stmts.splice(url_at..url_at, checks);

    // `api-version` becomes the one Accept the operation speaks.
    let accept = &op.accept;
    let mut replaced = false;
    for stmt in stmts.iter_mut() {
        if mentions_literal(stmt, "api-version") {
            *stmt = syn::parse_quote! {
                header_map.append(
                    ::reqwest::header::ACCEPT,
                    ::reqwest::header::HeaderValue::from_static(#accept),
                );
            };
            replaced = true;
        }
    }
    if !replaced {
        bail!("`send()` sets no `api-version` header to replace with Accept");
    }

    // In the request chain: no `Accept: application/json`; the body's Content-Type set
    // before `.json()`, which then leaves it alone; answers decoded by the runtime.
    let mut chain = Chain {
        content_type: op.content_type.clone(),
        runtime,
        json_seen: false,
    };
    chain.visit_block_mut(&mut f.block);
    if op.content_type.is_some() && !chain.json_seen {
        bail!("the operation has a request body, but `send()` sends no JSON body");
    }
    if !op.bodiless_success.is_empty() {
        optional_success(f, &op.bodiless_success)?;
    }
    Ok(())
}

/// Progenitor's hook calls, as it writes them in every `send()`, replaced by one call of
/// the runtime: its `exec` hook can fail only with a `reqwest::Error`, so a refused token
/// would have to travel as a made-up answer. [`atlas_runtime::Runtime::call`] fails with
/// the runtime's `Error`, each failure a value of its own. Another shape of the hook calls
/// is refused, naming the one expected.
const HOOK_CALLS: [&str; 4] = [
    "client . pre (& mut request , & info) . await ? ;",
    "let result = client . exec (request , & info) . await ;",
    "client . post (& result , & info) . await ? ;",
    "let response = result ? ;",
];

fn route_through_runtime(stmts: &mut Vec<syn::Stmt>) -> Result<()> {
    let text: Vec<String> = stmts.iter().map(|s| quote!(#s).to_string()).collect();
    let at = text
        .windows(HOOK_CALLS.len())
        .position(|w| w.iter().zip(HOOK_CALLS).all(|(a, b)| a == b))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`send()` does not call progenitor's hooks as the glue expects ({}); the glue must learn their new shape",
                HOOK_CALLS.join(" ")
            )
        })?;
    let call: syn::Stmt = syn::parse_quote! {
        let response = client
            .inner
            .call(&client.baseurl, request, info.operation_id, super::OPERATIONS)
            .await?;
    };
    stmts.splice(at..at + HOOK_CALLS.len(), [call]);
    Ok(())
}

/// An operation whose success is a body or none (a 200 with JSON beside a 204) returns
/// `ResponseValue<Option<T>>`: `Some` for the typed statuses, `None` for the body-less
/// ones, with their status and headers. Every success stays a success.
fn optional_success(f: &mut syn::ImplItemFn, bodiless: &[u16]) -> Result<()> {
    // `Result<ResponseValue<T>, Error<E>>` -> `Result<ResponseValue<Option<T>>, Error<E>>`
    let syn::ReturnType::Type(_, output) = &mut f.sig.output else {
        bail!("`send()` returns nothing");
    };
    let inner = first_generic(output, "Result")
        .and_then(|value| first_generic(value, "ResponseValue"))
        .ok_or_else(|| anyhow::anyhow!("`send()` does not return a `ResponseValue`"))?;
    let typed = inner.clone();
    *inner = syn::parse_quote!(::std::option::Option<#typed>);

    // The answer's `match` on the status: the typed arms wrap their value in `Some`; the
    // body-less statuses get arms of their own, before the catch-all.
    struct Arms<'a> {
        bodiless: &'a [u16],
        typed: &'a syn::Type,
        found: bool,
    }
    impl VisitMut for Arms<'_> {
        fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
            let on_status =
                matches!(&*m.expr, syn::Expr::MethodCall(call) if call.method == "as_u16");
            if !on_status {
                return syn::visit_mut::visit_expr_match_mut(self, m);
            }
            self.found = true;
            for arm in &mut m.arms {
                let success = match &arm.pat {
                    syn::Pat::Lit(lit) => literal_status(&lit.lit).is_some_and(|s| s < 400),
                    syn::Pat::Range(_) => true,
                    _ => false,
                };
                if success {
                    // `{ expr }` -> `expr`
                    if let syn::Expr::Block(block) = &*arm.body
                        && let [syn::Stmt::Expr(inner, None)] = block.block.stmts.as_slice()
                    {
                        *arm.body = inner.clone();
                    }
                    let body = &arm.body;
                    let typed = self.typed;
                    *arm.body = syn::parse_quote!((#body).map(|value: ResponseValue<#typed>| {
                        let status = value.status();
                        let headers = value.headers().clone();
                        ResponseValue::new(
                            ::std::option::Option::Some(value.into_inner()),
                            status,
                            headers,
                        )
                    }));
                }
            }
            let at = m
                .arms
                .iter()
                .position(|arm| matches!(arm.pat, syn::Pat::Wild(_)))
                .unwrap_or(m.arms.len());
            for (i, status) in self.bodiless.iter().enumerate() {
                let pat = syn::LitInt::new(&format!("{status}u16"), proc_macro2::Span::call_site());
                m.arms.insert(
                    at + i,
                    syn::parse_quote! {
                        #pat => Ok(ResponseValue::new(
                            ::std::option::Option::None,
                            response.status(),
                            response.headers().clone(),
                        )),
                    },
                );
            }
        }
    }
    let mut arms = Arms {
        bodiless,
        typed: &typed,
        found: false,
    };
    arms.visit_block_mut(&mut f.block);
    if !arms.found {
        bail!("`send()` has no `match` on the answer's status");
    }
    Ok(())
}

fn literal_status(lit: &syn::Lit) -> Option<u16> {
    match lit {
        syn::Lit::Int(i) => i.base10_parse().ok(),
        _ => None,
    }
}

/// The first generic argument of the type `outer<...>` (matched by its last segment).
fn first_generic<'a>(ty: &'a mut syn::Type, outer: &str) -> Option<&'a mut syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last_mut()?;
    if last.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &mut last.arguments else {
        return None;
    };
    args.args.iter_mut().find_map(|arg| match arg {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn destructured_fields(block: &syn::Block) -> Option<Vec<syn::Ident>> {
    block.stmts.iter().find_map(|stmt| {
        let syn::Stmt::Local(local) = stmt else {
            return None;
        };
        let syn::Pat::Struct(pat) = &local.pat else {
            return None;
        };
        Some(
            pat.fields
                .iter()
                .filter_map(|f| match &*f.pat {
                    syn::Pat::Ident(i) => Some(i.ident.clone()),
                    _ => None,
                })
                .collect(),
        )
    })
}

fn local_named(stmt: &syn::Stmt, name: &str) -> bool {
    matches!(stmt, syn::Stmt::Local(syn::Local { pat: syn::Pat::Ident(p), .. }) if p.ident == name)
}

fn mentions_literal(stmt: &syn::Stmt, literal: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl<'ast> syn::visit::Visit<'ast> for Find<'_> {
        fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
            self.1 |= lit.value() == self.0;
        }
    }
    let mut find = Find(literal, false);
    syn::visit::Visit::visit_stmt(&mut find, stmt);
    find.1
}

struct Chain<'a> {
    content_type: Option<String>,
    runtime: &'a TokenStream,
    json_seen: bool,
}

impl VisitMut for Chain<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        match expr {
            // `<receiver>.header(ACCEPT, ...)` -> `<receiver>`
            syn::Expr::MethodCall(call)
                if call.method == "header"
                    && call
                        .args
                        .first()
                        .is_some_and(|a| ends_with_ident(a, "ACCEPT")) =>
            {
                *expr = (*call.receiver).clone();
            }
            // `<receiver>.json(&body)` -> `<receiver>.header(CONTENT_TYPE, ...).json(&body)`
            syn::Expr::MethodCall(call) if call.method == "json" => {
                self.json_seen = true;
                if let Some(content_type) = &self.content_type {
                    let receiver = &call.receiver;
                    let with_type: syn::Expr = syn::parse_quote! {
                        #receiver.header(
                            ::reqwest::header::CONTENT_TYPE,
                            ::reqwest::header::HeaderValue::from_static(#content_type),
                        )
                    };
                    *call.receiver = with_type;
                }
            }
            // `ResponseValue::from_response(response)` -> the runtime's strict decoder.
            syn::Expr::Call(call) if is_path(&call.func, &["ResponseValue", "from_response"]) => {
                let runtime = self.runtime;
                *call.func = syn::parse_quote!(#runtime::response::from_response);
            }
            _ => {}
        }
    }
}

fn ends_with_ident(expr: &syn::Expr, ident: &str) -> bool {
    matches!(expr, syn::Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == ident))
}

fn is_path(expr: &syn::Expr, segments: &[&str]) -> bool {
    let syn::Expr::Path(p) = expr else {
        return false;
    };
    let names: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    names.len() >= segments.len() && names[names.len() - segments.len()..] == *segments
}

/// `#[deprecated]` on the `Client` methods of deprecated operations.
fn mark_deprecated(file: &mut syn::File, operations: &[Operation]) {
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        let is_client = imp.trait_.is_none()
            && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            continue;
        }
        for item in &mut imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            if operations
                .iter()
                .any(|op| op.deprecated && f.sig.ident == op.id)
            {
                f.attrs.push(syn::parse_quote! {
                    #[deprecated(note = "the spec marks this operation deprecated")]
                });
            }
        }
    }
}

/// progenitor's message for a value that does not convert to a parameter's type, reworded
/// to name the parameter as it is on the wire: ``conversion to `i64` for n_logs failed``
/// becomes ``parameter `nLogs` must be an integer``.
pub fn conversion_message(value: &str, wire_names: &BTreeMap<String, String>) -> Option<String> {
    let rest = value.strip_prefix("conversion to `")?;
    let (ty, rest) = rest.split_once("` for ")?;
    let rust_name = rest.strip_suffix(" failed")?;
    let wire = wire_names.get(rust_name)?;
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = ty
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(&ty);
    let kind = match inner.trim_start_matches("::std::string::") {
        "String" | "str" => "a string".to_string(),
        "bool" => "a boolean (true or false)".to_string(),
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "::std::num::NonZeroU64" => {
            format!("an integer that fits {inner}")
        }
        "f32" | "f64" => "a number".to_string(),
        other => {
            let name = other.rsplit("::").next().unwrap_or(other);
            format!("a valid `{name}`")
        }
    };
    Some(format!("parameter `{wire}` must be {kind}"))
}

/// A `#[doc = "..."]` attribute.
fn doc_attr(text: &str) -> syn::Attribute {
    syn::parse_quote!(#[doc = #text])
}

fn has_doc(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("doc"))
}

/// The text of the doc attributes, joined by lines.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The name on the wire that `#[serde(rename = "...")]` gives a field or variant.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                found = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
    }
    found
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn ident_name(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_string()
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Documentation of the public items progenitor and typify leave without it: each
/// operation builder's setters say what their parameter is (the spec's description, its
/// name on the wire and where it travels), the setters of the types' builders repeat the
/// field's documentation, and every other public item gets a line naming what it is.
fn document(file: &mut syn::File, operations: &[Operation]) {
    // The documentation of each type's fields, for the setters of its builder.
    let mut field_docs: BTreeMap<(String, String), String> = BTreeMap::new();
    for item in module_items(file, "types") {
        if let syn::Item::Struct(s) = item
            && let syn::Fields::Named(fields) = &s.fields
        {
            for field in &fields.named {
                let Some(ident) = &field.ident else { continue };
                let wire = serde_rename(&field.attrs).unwrap_or_else(|| ident_name(ident));
                let text = doc_text(&field.attrs)
                    .map(|d| format!("Sets the field `{wire}`:\n\n{}", d.trim()))
                    .unwrap_or_else(|| format!("Sets the field `{wire}`."));
                field_docs.insert((s.ident.to_string(), ident.to_string()), text);
            }
        }
    }
    let mut docs = Docs {
        builders: by_builder(operations),
        field_docs,
        module: Vec::new(),
    };
    docs.visit_file_mut(file);
}

struct Docs<'a> {
    builders: BTreeMap<String, &'a Operation>,
    field_docs: BTreeMap<(String, String), String>,
    /// The modules the visitor is in.
    module: Vec<String>,
}

impl Docs<'_> {
    fn in_types(&self) -> bool {
        self.module.first().is_some_and(|m| m == "types")
    }

    fn operation_builder(&self, name: &str) -> Option<&Operation> {
        if self.module.as_slice() != ["builder"] {
            return None;
        }
        self.builders.get(name).copied()
    }

    fn setter_doc(&self, op: &Operation, setter: &str) -> Option<String> {
        let method = format!("[`Client::{}`](super::Client::{})", op.id, op.id);
        if setter == "new" {
            return Some(format!(
                "A builder of the request of {method}, no parameter set yet."
            ));
        }
        if setter == "body" {
            let mut text = "Sets the request body.".to_string();
            if let Some(d) = &op.body_doc {
                text.push_str("\n\n");
                text.push_str(d);
            }
            return Some(text);
        }
        if setter == "body_map" {
            return Some(
                "Changes the request body through the builder of its type, starting from the \
                 body set so far (or the type's defaults)."
                    .to_string(),
            );
        }
        let param = op.param_docs.iter().find(|p| {
            let wanted = sanitize_snake(&p.name);
            setter == wanted || setter.strip_suffix('_') == Some(wanted.as_str())
        })?;
        let location = match param.location {
            crate::normalize::Location::Path => "path",
            crate::normalize::Location::Query => "query",
            crate::normalize::Location::Header => "header",
        };
        let mut text = format!("Sets `{}` ({location} parameter).", param.name);
        if let Some(d) = &param.description {
            text.push_str("\n\n");
            text.push_str(d);
        }
        if let Some((_, unit)) = op.epoch_params.iter().find(|(n, _)| *n == param.name) {
            let unit = match unit {
                crate::normalize::Epoch::Milliseconds => "milliseconds",
                crate::normalize::Epoch::Seconds => "seconds",
            };
            text.push_str(&format!(
                "\n\nTakes an `i64` of {unit} since the Unix epoch, a `std::time::SystemTime` \
                 or a `chrono::DateTime<chrono::Utc>`, sent in {unit}; a time before 1970 is \
                 an error of the request."
            ));
        }
        Some(text)
    }
}

impl VisitMut for Docs<'_> {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if is_pub(&module.vis) && !has_doc(&module.attrs) {
            let text = format!("The `{}` module.", module.ident);
            module.attrs.insert(0, doc_attr(&text));
        }
        self.module.push(module.ident.to_string());
        syn::visit_mut::visit_item_mod_mut(self, module);
        self.module.pop();
    }

    fn visit_item_struct_mut(&mut self, s: &mut syn::ItemStruct) {
        if is_pub(&s.vis) && !has_doc(&s.attrs) {
            let name = s.ident.to_string();
            let text = if self.in_types() && self.module.len() == 2 {
                format!(
                    "A builder of [`super::{name}`]: its setters set one field each; \
                     `try_into()` makes the value, refusing a missing required field."
                )
            } else {
                format!("The `{name}` type.")
            };
            s.attrs.insert(0, doc_attr(&text));
        }
        if let syn::Fields::Named(fields) = &mut s.fields {
            for field in &mut fields.named {
                if is_pub(&field.vis) && !has_doc(&field.attrs) {
                    let wire = field.ident.as_ref().map_or_else(String::new, |i| {
                        serde_rename(&field.attrs).unwrap_or_else(|| ident_name(i))
                    });
                    let text = format!("The field `{wire}`.");
                    field.attrs.insert(0, doc_attr(&text));
                }
            }
        }
    }

    fn visit_item_enum_mut(&mut self, e: &mut syn::ItemEnum) {
        if is_pub(&e.vis) && !has_doc(&e.attrs) {
            let text = format!("The `{}` type.", e.ident);
            e.attrs.insert(0, doc_attr(&text));
        }
        for variant in &mut e.variants {
            if !has_doc(&variant.attrs) {
                let text = match serde_rename(&variant.attrs) {
                    Some(wire) => format!("`{wire}`"),
                    None if matches!(variant.fields, syn::Fields::Unit) => {
                        format!("`{}`", variant.ident)
                    }
                    None => format!("The `{}` form.", variant.ident),
                };
                variant.attrs.insert(0, doc_attr(&text));
            }
        }
    }

    fn visit_item_impl_mut(&mut self, imp: &mut syn::ItemImpl) {
        if imp.trait_.is_some() {
            return;
        }
        let Some(self_name) = type_name(&imp.self_ty) else {
            return;
        };
        let op = self.operation_builder(&self_name).cloned();
        let type_builder = self.in_types() && self.module.len() == 2;
        for item in &mut imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            if !is_pub(&f.vis) || has_doc(&f.attrs) {
                continue;
            }
            let name = ident_name(&f.sig.ident);
            let text = if let Some(op) = &op {
                self.setter_doc(op, &name)
            } else if type_builder {
                self.field_docs
                    .get(&(self_name.clone(), f.sig.ident.to_string()))
                    .cloned()
            } else if self.in_types() && name == "builder" {
                Some(format!(
                    "A builder of `{self_name}`, its fields set one by one."
                ))
            } else {
                None
            };
            let text = text.unwrap_or_else(|| format!("`{name}` of `{self_name}`."));
            f.attrs.insert(0, doc_attr(&text));
        }
    }

    fn visit_item_fn_mut(&mut self, f: &mut syn::ItemFn) {
        if is_pub(&f.vis) && !has_doc(&f.attrs) {
            let text = format!("The function `{}`.", f.sig.ident);
            f.attrs.insert(0, doc_attr(&text));
        }
    }
}

/// The setters of parameters marked `x-epoch` take, besides an `i64` in the parameter's
/// unit, a `SystemTime` or a `chrono::DateTime<Utc>`, converted to that unit; a time that
/// does not convert becomes the builder's error, naming the parameter.
fn epoch_setters(
    file: &mut syn::File,
    operations: &[Operation],
    runtime: &TokenStream,
) -> std::result::Result<(), Vec<Refusal>> {
    let builders = by_builder(operations);
    let mut refused = Vec::new();
    for item in module_items_mut(file, "builder") {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(op) = type_name(&imp.self_ty).and_then(|name| builders.get(&name)) else {
            continue;
        };
        for (wire, unit) in &op.epoch_params {
            let setter = sanitize_snake(wire);
            let found = imp.items.iter_mut().find_map(|item| match item {
                syn::ImplItem::Fn(f)
                    if ident_name(&f.sig.ident).trim_end_matches('_') == setter =>
                {
                    Some(f)
                }
                _ => None,
            });
            let outcome = match found {
                Some(f) => epoch_setter(f, wire, *unit, runtime),
                None => Err(anyhow::anyhow!("no builder setter for parameter `{wire}`")),
            };
            if let Err(e) = outcome {
                refused.push(Refusal {
                    subject: label(op),
                    reason: format!("x-epoch: {e:#}"),
                });
            }
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

fn epoch_setter(
    f: &mut syn::ImplItemFn,
    wire: &str,
    unit: crate::normalize::Epoch,
    runtime: &TokenStream,
) -> Result<()> {
    let (bound, convert) = match unit {
        crate::normalize::Epoch::Milliseconds => (
            quote!(#runtime::epoch::EpochMillis),
            quote!(#runtime::epoch::EpochMillis::epoch_millis),
        ),
        crate::normalize::Epoch::Seconds => (
            quote!(#runtime::epoch::EpochSeconds),
            quote!(#runtime::epoch::EpochSeconds::epoch_seconds),
        ),
    };
    let [syn::GenericParam::Type(param)] = f.sig.generics.params.iter().collect::<Vec<_>>()[..]
    else {
        bail!("the setter of `{wire}` does not take one generic value");
    };
    let ty = param.ident.clone();
    f.sig.generics.where_clause = Some(syn::parse_quote!(where #ty: #bound));

    // `value.try_into()` -> the conversion; the message of its error names the parameter.
    struct Convert<'a> {
        convert: &'a TokenStream,
        wire: &'a str,
        converted: bool,
        messages: bool,
    }
    impl VisitMut for Convert<'_> {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::MethodCall(call) = expr else {
                return;
            };
            if call.method == "try_into" && call.args.is_empty() {
                let receiver = &call.receiver;
                let convert = self.convert;
                *expr = syn::parse_quote!(#convert(#receiver));
                self.converted = true;
            } else if call.method == "map_err" && call.args.len() == 1 {
                let message = format!("parameter `{}`: {{e}}", self.wire);
                call.args[0] = syn::parse_quote!(|e| format!(#message));
                self.messages = true;
            }
        }
    }
    let mut visitor = Convert {
        convert: &convert,
        wire,
        converted: false,
        messages: false,
    };
    visitor.visit_block_mut(&mut f.block);
    if !visitor.converted || !visitor.messages {
        bail!("the setter of `{wire}` has no `value.try_into().map_err(...)` to replace");
    }
    Ok(())
}

/// Replaces progenitor's sketch of each operation's use (variables left unbound) with an
/// example that compiles: the required parameters set to the spec's examples, the call
/// awaited with `?` into `AtlasError`. Operations whose required input cannot be written as
/// literals (a request body, an array) keep the sketch, marked `text`.
pub fn examples(file: &mut syn::File, operations: &[Operation], client_crate: &str) {
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        let is_client = imp.trait_.is_none()
            && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            continue;
        }
        for item in &mut imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            let Some(op) = operations.iter().find(|op| f.sig.ident == op.id) else {
                continue;
            };
            let Some(example) = example(op, client_crate) else {
                continue;
            };
            for attr in &mut f.attrs {
                let syn::Meta::NameValue(doc) = &mut attr.meta else {
                    continue;
                };
                if !doc.path.is_ident("doc") {
                    continue;
                }
                let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) = &doc.value
                else {
                    continue;
                };
                let value = text.value();
                let Some(start) = value.find("```text\nlet response = client.") else {
                    continue;
                };
                let Some(len) = value[start + 7..].find("```") else {
                    continue;
                };
                let end = start + 7 + len + 3;
                let replaced = format!("{}{example}{}", &value[..start], &value[end..]);
                doc.value = syn::parse_quote!(#replaced);
            }
        }
    }
}

fn example(op: &Operation, client_crate: &str) -> Option<String> {
    if op.content_type.is_some() {
        return None;
    }
    let mut calls = String::new();
    for param in op.param_docs.iter().filter(|p| p.required) {
        let value = param.example.as_deref()?;
        calls.push_str(&format!(
            "\n    .{}({value})",
            crate::normalize::sanitize_snake(&param.name)
        ));
    }
    let allow = if op.deprecated {
        "#[allow(deprecated)]\n"
    } else {
        ""
    };
    Some(format!(
        "```no_run\n# async fn example(client: &{client_crate}::Client) -> Result<(), atlas_runtime::AtlasError> {{\n{allow}let response = client\n    .{}(){calls}\n    .send()\n    .await?;\n# let _ = response;\n# Ok(())\n# }}\n```",
        op.id
    ))
}

/// The wire names of the paginated shape: the page's items and the size of the list.
const RESULTS: &str = "results";
const TOTAL_COUNT: &str = "totalCount";

/// `stream()` and `all()` on the builder of every operation paged by `pageNum` and
/// `itemsPerPage` whose answer has Atlas's paginated shape (`results`, an array, and
/// `totalCount`, an integer), and `atlas_runtime::paginate::Page` on that answer's type.
/// Returns the ids of the operations that got them. An operation whose parameters page
/// but whose answer has another shape, or whose builder already has a method of either
/// name, gets none.
pub fn page_walks(
    file: &mut syn::File,
    operations: &[Operation],
    runtime: &TokenStream,
) -> Vec<String> {
    // The success type of each paged operation's `send()`, as `types::X`.
    let builders = by_builder(operations);
    let mut answers: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for item in module_items(file, "builder") {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(op) = type_name(&imp.self_ty)
            .and_then(|name| builders.get(&name))
            .filter(|op| op.paging.is_some())
        else {
            continue;
        };
        let methods: Vec<String> = imp
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(ident_name(&f.sig.ident)),
                _ => None,
            })
            .collect();
        let Some(send) = imp.items.iter().find_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
            _ => None,
        }) else {
            continue;
        };
        if let Some(answer) = typed_success(send) {
            answers.insert(op.id.clone(), (answer, methods));
        }
    }

    // The paginated shapes among those types: item type and the form of each field.
    let mut shapes: BTreeMap<String, Shape> = BTreeMap::new();
    for item in module_items(file, "types") {
        if let syn::Item::Struct(s) = item
            && answers.values().any(|(answer, _)| s.ident == answer)
            && let Some(shape) = paginated_shape(s)
        {
            shapes.insert(s.ident.to_string(), shape);
        }
    }

    let mut walked = Vec::new();
    let mut builders: Vec<syn::Item> = Vec::new();
    for op in operations {
        let (Some(paging), Some((answer, methods))) = (&op.paging, answers.get(&op.id)) else {
            continue;
        };
        let Some(shape) = shapes.get(answer) else {
            continue;
        };
        let setter = |wire: &str| sanitize_snake(wire);
        let (page_num, items_per_page) = (setter("pageNum"), setter("itemsPerPage"));
        let needed = [page_num.as_str(), items_per_page.as_str()];
        if methods.iter().any(|m| m == "stream" || m == "all")
            || !needed.iter().all(|n| methods.iter().any(|m| m == n))
        {
            continue;
        }
        let builder = format_ident!("{}", builder_name(op));
        let answer_ty = format_ident!("{answer}");
        let page_num = format_ident!("{page_num}");
        let items_per_page = format_ident!("{items_per_page}");
        let default = match paging.default_page_size.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => quote!(::std::option::Option::Some(#n)),
            None => quote!(::std::option::Option::None),
        };
        let include_count = if paging.include_count && methods.iter().any(|m| m == "include_count")
        {
            quote!(.include_count(true))
        } else {
            quote!()
        };
        let item_text = shape.item_text.clone();
        let method = format!("[`Client::{}`](super::Client::{})", op.id, op.id);
        let size_text = match paging.default_page_size {
            Some(n) => format!("`items_per_page`, else {n}"),
            None => "`items_per_page`, else Atlas's own".to_string(),
        };
        let count_text = if include_count.is_empty() {
            ""
        } else {
            " and `includeCount=true`"
        };
        let stream_doc = format!(
            "Every item of the list {method} returns, page after page: asks for `pageNum` 1, \
             2, ... (whatever `page_num` holds) with the page size of {size_text}{count_text}, \
             and ends when the items reach the first page's `totalCount`.\n\n\
             Exact or an error: a `totalCount` that changes between pages, pages that overlap \
             (an item seen twice) or that run out before `totalCount` end the stream with an \
             `AtlasError` of kind `Incomplete`; see `atlas_runtime::paginate` for the rule."
        );
        let all_doc = format!(
            "Every item of the list, collected: `stream()` to its end, a future of \
             `Result<Vec<{item_text}>, AtlasError>`. It fails when a page could not be had, \
             or the pages do not add up to the list exactly (kind `Incomplete`)."
        );
        // `#[inline]`: a walk is compiled in the crate that calls it, not in the generated
        // one, for every operation: the whole official API builds in about 40 MiB more
        // than without walks, instead of about 150 MiB more.
        builders.push(syn::parse_quote! {
            impl<'a> #builder<'a> {
                #[doc = #stream_doc]
                #[inline]
                pub fn stream(self) -> #runtime::paginate::Items<'a, types::#answer_ty> {
                    let page_size: ::std::option::Option<u32> = match &self.#items_per_page {
                        Ok(Some(size)) => u32::try_from(*size).ok(),
                        Ok(None) => #default,
                        Err(_) => ::std::option::Option::None,
                    };
                    #runtime::paginate::Items::of_sends(page_size, move |page| {
                        let mut request = self.clone().#page_num(page)#include_count;
                        if let ::std::option::Option::Some(size) = page_size {
                            request = request.#items_per_page(size);
                        }
                        request.send()
                    })
                }

                #[doc = #all_doc]
                #[inline]
                pub fn all(self) -> #runtime::paginate::All<'a, types::#answer_ty> {
                    self.stream().all()
                }
            }
        });
        walked.push(op.id.clone());
    }

    let pages: Vec<syn::Item> = shapes
        .iter()
        .filter(|(name, _)| {
            walked
                .iter()
                .any(|id| answers.get(id).is_some_and(|(a, _)| a == *name))
        })
        .map(|(name, shape)| {
            let ty = format_ident!("{name}");
            let item = &shape.item;
            let results = &shape.results_field;
            let total = &shape.total_field;
            let items = if shape.results_optional {
                quote!(self.#results.unwrap_or_default())
            } else {
                quote!(self.#results)
            };
            syn::parse_quote! {
                impl #runtime::paginate::Page for #ty {
                    type Item = #item;
                    fn total_count(&self) -> ::std::option::Option<i64> {
                        #runtime::paginate::Count::count(&self.#total)
                    }
                    fn into_items(self) -> ::std::vec::Vec<#item> {
                        #items
                    }
                }
            }
        })
        .collect();

    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let Some((_, items)) = module.content.as_mut() else {
            continue;
        };
        if module.ident == "builder" {
            items.append(&mut builders);
        } else if module.ident == "types" {
            items.extend(pages.iter().cloned());
        }
    }
    walked
}

/// What the paginated answer type holds.
struct Shape {
    /// The item type, as the `types` module names it.
    item: syn::Type,
    /// The item type as the documentation names it.
    item_text: String,
    results_field: syn::Ident,
    /// `results` is an `Option<Vec<T>>`.
    results_optional: bool,
    total_field: syn::Ident,
}

/// The type `X` of `send() -> Result<ResponseValue<types::X>, Error<E>>`.
fn typed_success(send: &syn::ImplItemFn) -> Option<String> {
    let syn::ReturnType::Type(_, output) = &send.sig.output else {
        return None;
    };
    let mut output = (**output).clone();
    let value = first_generic(&mut output, "Result")
        .and_then(|value| first_generic(value, "ResponseValue"))?;
    let syn::Type::Path(path) = &*value else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [types, name] if types == "types" && path.path.segments[1].arguments.is_none() => {
            Some(name.clone())
        }
        _ => None,
    }
}

/// The fields `results` (`Vec<T>`, or optional) and `totalCount` (an integer, or
/// optional) of a struct, by their names on the wire.
fn paginated_shape(s: &syn::ItemStruct) -> Option<Shape> {
    let syn::Fields::Named(fields) = &s.fields else {
        return None;
    };
    let wire = |field: &syn::Field| {
        field
            .ident
            .as_ref()
            .map(|ident| serde_rename(&field.attrs).unwrap_or_else(|| ident_name(ident)))
    };
    let results = fields
        .named
        .iter()
        .find(|f| wire(f).as_deref() == Some(RESULTS))?;
    let total = fields
        .named
        .iter()
        .find(|f| wire(f).as_deref() == Some(TOTAL_COUNT))?;
    let mut results_ty = results.ty.clone();
    let (item, results_optional) = match first_generic(&mut results_ty.clone(), "Vec") {
        Some(item) => (item.clone(), false),
        None => {
            let inner = first_generic(&mut results_ty, "Option")?;
            (first_generic(inner, "Vec")?.clone(), true)
        }
    };
    let total_ty = total.ty.clone();
    let count = first_generic(&mut total_ty.clone(), "Option")
        .cloned()
        .unwrap_or(total_ty);
    let integer = matches!(&count, syn::Type::Path(p)
        if p.qself.is_none()
            && p.path.segments.len() == 1
            && ["i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize"]
                .contains(&p.path.segments[0].ident.to_string().as_str()));
    if !integer {
        return None;
    }
    let item_text = match &item {
        syn::Type::Path(p) if p.qself.is_none() && p.path.leading_colon.is_none() => {
            format!("types::{}", quote!(#p).to_string().replace(' ', ""))
        }
        other => quote!(#other).to_string().replace(' ', ""),
    };
    Some(Shape {
        item,
        item_text,
        results_field: results.ident.clone()?,
        results_optional,
        total_field: total.ident.clone()?,
    })
}

/// Strings constrained by a `pattern` or lengths, which typify makes newtypes checked when
/// built (`FromStr`, `TryFrom`) and when decoded. What we send stays checked; an answer is
/// never refused over documentation (an official pattern may match no real value), so the
/// newtype's `Deserialize` takes any string and `validate()` checks it when the caller
/// wants to. Every pattern is compiled as OpenAPI reads it, ECMA-262 in Unicode mode
/// ([`atlas_runtime`]'s rule: `\p{L}` is a letter, not `p`), or as plain ECMA-262 when it
/// is not valid in Unicode mode (`\:`); a pattern valid under neither is refused, naming
/// its type. A `Deserialize` of another shape than expected is refused too, so that a
/// change in typify's output is named rather than compiled wrong.
fn constrained_strings(file: &mut syn::File) -> std::result::Result<(), Vec<Refusal>> {
    // Those whose `FromStr` can fail: a string with no rule parses infallibly.
    let mut constrained = std::collections::BTreeSet::new();
    for item in module_items(file, "types") {
        if let syn::Item::Impl(imp) = item
            && trait_named(imp, "FromStr")
            && imp.items.iter().any(|i| {
                matches!(i, syn::ImplItem::Type(t) if t.ident == "Err"
                    && quote!(#t).to_string().contains("ConversionError"))
            })
            && let Some(name) = type_name(&imp.self_ty)
        {
            constrained.insert(name);
        }
    }
    let newtypes: std::collections::BTreeSet<String> = module_items(file, "types")
        .filter_map(|item| match item {
            syn::Item::Struct(s)
                if constrained.contains(&ident_name(&s.ident))
                    && matches!(&s.fields, syn::Fields::Unnamed(f) if f.unnamed.len() == 1
                        && quote!(#f).to_string().contains(":: std :: string :: String")) =>
            {
                Some(ident_name(&s.ident))
            }
            _ => None,
        })
        .collect();
    let mut refused = Vec::new();
    let refuse = |name: &str, reason: String| Refusal {
        subject: format!("type `{name}`"),
        reason,
    };
    for item in module_items_mut(file, "types") {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(name) = type_name(&imp.self_ty) else {
            continue;
        };
        let mut patterns = Patterns { errors: Vec::new() };
        patterns.visit_item_impl_mut(imp);
        refused.extend(patterns.errors.into_iter().map(|e| refuse(&name, e)));
        if !newtypes.contains(&name) || !trait_named(imp, "Deserialize") {
            continue;
        }
        let Some(f) = imp.items.iter_mut().find_map(|i| match i {
            syn::ImplItem::Fn(f) if f.sig.ident == "deserialize" => Some(f),
            _ => None,
        }) else {
            refused.push(refuse(&name, "its Deserialize has no `deserialize`".into()));
            continue;
        };
        let body = quote!(#f).to_string();
        if !(body.contains("String :: deserialize (deserializer) ?") && body.contains(". parse ()"))
        {
            refused.push(refuse(
                &name,
                "typify's Deserialize of a constrained string is not `String::deserialize(deserializer)?.parse()` any more; the glue must learn its new shape".into(),
            ));
            continue;
        }
        f.block = syn::parse_quote!({
            ::std::result::Result::Ok(Self(
                <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?,
            ))
        });
    }
    // `validate()` on each: the check a decoded answer skipped.
    if let Some(syn::Item::Mod(module)) = file
        .items
        .iter_mut()
        .find(|item| matches!(item, syn::Item::Mod(m) if m.ident == "types"))
        && let Some((_, items)) = &mut module.content
    {
        for name in &newtypes {
            let ident = format_ident!("{name}");
            items.push(syn::parse_quote! {
                impl #ident {
                    /// Checks the value against the spec's rule (pattern, lengths). Values
                    /// built by `parse` or `try_from` always keep it; a value decoded from
                    /// an answer is taken as Atlas sent it, and this says whether it keeps it.
                    ///
                    /// # Errors
                    ///
                    /// The value breaks the rule.
                    pub fn validate(&self) -> ::std::result::Result<(), self::error::ConversionError> {
                        self.0.parse::<Self>().map(drop)
                    }
                }
            });
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

/// Every identifier in `tokens`, at any depth.
fn idents_in(tokens: TokenStream, out: &mut std::collections::BTreeSet<String>) {
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => {
                out.insert(ident_name(&ident));
            }
            proc_macro2::TokenTree::Group(group) => idents_in(group.stream(), out),
            _ => {}
        }
    }
}

/// The names of the `types` reachable from some operation's answer (success or error),
/// through fields, items and variants.
fn answer_types(
    file: &syn::File,
    refers: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> std::collections::BTreeSet<String> {
    use std::collections::BTreeSet;
    let mut roots = BTreeSet::new();
    for item in module_items(file, "builder") {
        let syn::Item::Impl(imp) = item else { continue };
        for item in &imp.items {
            if let syn::ImplItem::Fn(f) = item
                && f.sig.ident == "send"
            {
                let output = &f.sig.output;
                idents_in(quote!(#output), &mut roots);
            }
        }
    }
    reachable(refers, roots)
}

/// For each item of `types`, the identifiers its definition names.
fn type_references(file: &syn::File) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut refers: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for item in module_items(file, "types") {
        let (name, tokens) = match item {
            syn::Item::Struct(s) => (ident_name(&s.ident), quote!(#s)),
            syn::Item::Enum(e) => (ident_name(&e.ident), quote!(#e)),
            syn::Item::Type(t) => (ident_name(&t.ident), quote!(#t)),
            _ => continue,
        };
        idents_in(tokens, refers.entry(name).or_default());
    }
    refers
}

/// The types reachable from `roots` (themselves included) through `refers`.
fn reachable(
    refers: &BTreeMap<String, std::collections::BTreeSet<String>>,
    roots: impl IntoIterator<Item = String>,
) -> std::collections::BTreeSet<String> {
    let mut reached = std::collections::BTreeSet::new();
    let mut stack: Vec<String> = roots
        .into_iter()
        .filter(|n| refers.contains_key(n))
        .collect();
    while let Some(name) = stack.pop() {
        if reached.insert(name.clone())
            && let Some(next) = refers.get(&name)
        {
            stack.extend(
                next.iter()
                    .filter(|n| refers.contains_key(*n) && !reached.contains(*n))
                    .cloned(),
            );
        }
    }
    reached
}

/// Types an untagged enumeration (a `oneOf` decoded by trying each variant in turn) reaches
/// when some variant of it is not pinned by a one-value enumeration (a discriminator):
/// opening an enumeration there could let an earlier variant take an answer meant for a
/// later one.
fn tried_in_turn(
    file: &syn::File,
    refers: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> std::collections::BTreeSet<String> {
    let constants: std::collections::BTreeSet<String> = module_items(file, "types")
        .filter_map(|item| match item {
            syn::Item::Enum(e)
                if e.variants.len() == 1 && matches!(e.variants[0].fields, syn::Fields::Unit) =>
            {
                Some(ident_name(&e.ident))
            }
            _ => None,
        })
        .collect();
    let mut roots = Vec::new();
    for item in module_items(file, "types") {
        let syn::Item::Enum(e) = item else { continue };
        let untagged = e
            .attrs
            .iter()
            .any(|a| a.path().is_ident("serde") && quote!(#a).to_string().contains("untagged"));
        if !untagged {
            continue;
        }
        let pinned = e.variants.iter().all(|v| {
            let mut named = std::collections::BTreeSet::new();
            let fields = &v.fields;
            idents_in(quote!(#fields), &mut named);
            let named_closure =
                reachable(refers, named.into_iter().filter(|n| !constants.contains(n)));
            v.fields.iter().any(|f| {
                let ty = &f.ty;
                let mut ids = std::collections::BTreeSet::new();
                idents_in(quote!(#ty), &mut ids);
                ids.iter().any(|i| constants.contains(i))
            }) || named_closure.iter().any(|n| {
                refers
                    .get(n)
                    .is_some_and(|r| r.iter().any(|i| constants.contains(i)))
            })
        });
        if !pinned {
            roots.push(ident_name(&e.ident));
        }
    }
    reachable(refers, roots)
}

/// Enumerations of strings that answers carry, opened to values the spec does not list: a
/// last variant `Unrecognized(atlas_runtime::Unrecognized)`, untagged, holds any other
/// string as Atlas sent it, so an answer is never refused over a value added since the
/// spec was written. `Unrecognized` has no public constructor, so what a caller sends is
/// always a listed value; enumerations only requests carry (parameters, request-only
/// bodies) stay closed, and so do those of one value (a discriminator's pin) and those an
/// undiscriminated `oneOf` reaches (see [`tried_in_turn`]). Such an
/// enumeration is no longer `Copy`. `Display` writes the value either way; `FromStr` still
/// takes only listed values.
fn open_enums(
    file: &mut syn::File,
    runtime: &TokenStream,
) -> std::result::Result<(), Vec<Refusal>> {
    let refers = type_references(file);
    let answers = answer_types(file, &refers);
    let tried = tried_in_turn(file, &refers);
    let mut refused = Vec::new();
    let mut opened = BTreeMap::new();
    for item in module_items_mut(file, "types") {
        let syn::Item::Enum(e) = item else { continue };
        let name = ident_name(&e.ident);
        // One listed value is a constant, such as a discriminator pinned to its variant:
        // opening it would let an untagged `oneOf` take an answer as the wrong variant.
        if !answers.contains(&name)
            || tried.contains(&name)
            || e.variants.len() < 2
            || !e
                .variants
                .iter()
                .all(|v| matches!(v.fields, syn::Fields::Unit))
        {
            continue;
        }
        if e.variants.iter().any(|v| v.ident == "Unrecognized") {
            refused.push(Refusal {
                subject: format!("type `{name}`"),
                reason: "a listed value is named `Unrecognized`, the name of the variant that holds values the spec does not list".into(),
            });
            continue;
        }
        // Each variant's value on the wire, for `Display`.
        let values: Vec<(syn::Ident, String)> = e
            .variants
            .iter()
            .map(|v| {
                let mut value = ident_name(&v.ident);
                for attr in &v.attrs {
                    if attr.path().is_ident("serde") {
                        let _ = attr.parse_nested_meta(|meta| {
                            if meta.path.is_ident("rename") {
                                value = meta.value()?.parse::<syn::LitStr>()?.value();
                            }
                            Ok(())
                        });
                    }
                }
                (v.ident.clone(), value)
            })
            .collect();
        for attr in &mut e.attrs {
            if attr.path().is_ident("derive")
                && let Ok(paths) = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                )
            {
                let kept = paths.into_iter().filter(|p| !p.is_ident("Copy"));
                *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
            }
        }
        e.variants.push(syn::parse_quote! {
            /// A value the spec does not list, as Atlas sent it.
            #[serde(untagged)]
            Unrecognized(#runtime::Unrecognized)
        });
        opened.insert(name, values);
    }
    for item in module_items_mut(file, "types") {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(name) = type_name(&imp.self_ty) else {
            continue;
        };
        let Some(values) = opened.get(&name) else {
            continue;
        };
        if !trait_named(imp, "Display") {
            continue;
        }
        let Some(f) = imp.items.iter_mut().find_map(|i| match i {
            syn::ImplItem::Fn(f) if f.sig.ident == "fmt" => Some(f),
            _ => None,
        }) else {
            refused.push(Refusal {
                subject: format!("type `{name}`"),
                reason: "its Display has no `fmt`".into(),
            });
            continue;
        };
        let (idents, texts): (Vec<_>, Vec<_>) = values.iter().cloned().unzip();
        f.block = syn::parse_quote!({
            match self {
                #(Self::#idents => f.write_str(#texts),)*
                Self::Unrecognized(value) => f.write_str(value.as_str()),
            }
        });
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

/// Whether an impl is of the trait whose path ends in `name`.
fn trait_named(imp: &syn::ItemImpl, name: &str) -> bool {
    imp.trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|s| s.ident == name)
}

/// Rewrites `::regress::Regex::new("...")` to compile the pattern in Unicode mode where it
/// is valid there.
struct Patterns {
    errors: Vec<String>,
}

impl VisitMut for Patterns {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        syn::visit_mut::visit_expr_call_mut(self, call);
        let syn::Expr::Path(func) = call.func.as_ref() else {
            return;
        };
        let path = quote!(#func).to_string();
        if path != ":: regress :: Regex :: new" || call.args.len() != 1 {
            return;
        }
        let Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(pattern),
            ..
        })) = call.args.first()
        else {
            return;
        };
        let text = pattern.value();
        if regress::Regex::with_flags(&text, "u").is_ok() {
            *call = syn::parse_quote!(::regress::Regex::with_flags(#pattern, "u"));
        } else if crate::normalize::ecma_pattern(&text).is_err() {
            self.errors.push(format!(
                "pattern `{text}` is not a valid ECMAScript regular expression, with or without Unicode mode"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `send()` as progenitor writes it, reduced to what the glue reads, with `hooks` where
    /// progenitor calls its hooks.
    fn send_of(hooks: &str) -> syn::ImplItemFn {
        let hooks: syn::Block = syn::parse_str(&format!("{{ {hooks} }}")).unwrap();
        let hooks = hooks.stmts;
        syn::parse_quote! {
            pub async fn send(self) -> Result<ResponseValue<types::Thing>, Error<types::ApiError>> {
                let Self { client, id } = self;
                let mut request = client.client.get("u").build()?;
                let info = OperationInfo { operation_id: "get_thing" };
                #(#hooks)*
                match response.status().as_u16() {
                    200u16 => ::atlas_runtime::response::from_response(response).await,
                    _ => Err(Error::UnexpectedResponse(response)),
                }
            }
        }
    }

    const PROGENITORS_HOOKS: &str = "client.pre(&mut request, &info).await?; let result = client.exec(request, &info).await; client.post(&result, &info).await?; let response = result?;";

    #[test]
    fn hooks_become_one_call_of_the_runtime_and_send_is_split_after_it() {
        let mut send = send_of(PROGENITORS_HOOKS);
        route_through_runtime(&mut send.block.stmts).unwrap();
        let routed = quote!(#send).to_string();
        assert!(
            routed.contains("let response = client . inner . call (& client . baseurl , request , info . operation_id , super :: OPERATIONS) . await ? ; match"),
            "{routed}"
        );
        assert!(
            !routed.contains("client . exec") && !routed.contains("client . pre"),
            "{routed}"
        );
        let exchange = split_exchange(&mut send).unwrap();
        let exchange = quote!(#exchange).to_string();
        assert!(exchange.contains("async fn exchange (self) -> Result < :: reqwest :: Response , Error < types :: ApiError > >"), "{exchange}");
        assert!(
            exchange.contains("super :: OPERATIONS) . await ? ; Ok (response)"),
            "{exchange}"
        );
        let send = quote!(#send).to_string();
        assert!(
            send.contains(
                "let response = self . exchange () . await ? ; match response . status ()"
            ),
            "{send}"
        );
        assert!(!send.contains("inner . call"), "{send}");
    }

    /// A change in progenitor's output is refused, naming the shape the glue expected,
    /// rather than compiled wrong.
    #[test]
    fn another_shape_of_send_is_refused_naming_the_one_expected() {
        let reordered = "let result = client.exec(request, &info).await; client.pre(&mut request, &info).await?; client.post(&result, &info).await?; let response = result?;";
        let mut send = send_of(reordered);
        let why = route_through_runtime(&mut send.block.stmts)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("client . pre (& mut request , & info) . await ? ;"),
            "{why}"
        );
        let mut send = send_of("let response = result.unwrap();");
        let Err(why) = split_exchange(&mut send) else {
            panic!("split a send() of another shape")
        };
        assert!(why.contains("`let response = ...?;`"), "{why}");
    }

    #[test]
    fn the_generated_error_is_the_runtimes() {
        let mut file: syn::File = syn::parse_quote! {
            pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
            use progenitor_client::{ClientHooks, OperationInfo};
        };
        runtime_error(&mut file, &quote!(::atlas_runtime)).unwrap();
        let text = quote!(#file).to_string();
        assert!(
            text.contains("pub use :: atlas_runtime :: Error ;"),
            "{text}"
        );
        assert!(
            text.contains(
                "pub use progenitor_client :: { ByteStream , ClientInfo , ResponseValue } ;"
            ),
            "{text}"
        );
        let why = runtime_error(&mut file, &quote!(::atlas_runtime)).unwrap_err();
        assert!(
            why.reason
                .contains("re-exports no `progenitor_client::Error`"),
            "{}",
            why.reason
        );
    }
}

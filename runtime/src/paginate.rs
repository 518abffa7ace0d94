//! Every item of a paginated Atlas list, page after page, exactly once or an error.
//!
//! Atlas pages its lists by offset: a request names `pageNum` (from 1) and `itemsPerPage`,
//! and the answer carries the page's `results` and, unless `includeCount=false`,
//! `totalCount`, the size of the whole list. [`Items`] walks such a list one page at a
//! time and hands out its items as a [`Stream`] (or all at once with [`Items::all`]).
//! Generated clients give every operation of that shape a `stream()` and an `all()` on its
//! builder, built on this module; nothing here knows any operation.
//!
//! # The rule: exact or an error
//!
//! An offset-paged list that changes during the walk repeats or skips items without
//! saying so. The walk therefore checks every page, and ends either with every item of
//! the list exactly once or with an [`AtlasError`] of kind
//! [`ErrorKind::Incomplete`] (the cause a [`PagingError`]):
//!
//! - Pages are asked for in order, `pageNum` 1, 2, 3, ..., each with the same page size.
//! - The first page's `totalCount` is the size of the list. Every later page must state the
//!   same count, or the list changed: [`PagingError::CountChanged`].
//! - With a count, the walk ends as soon as it holds that many items, without asking for
//!   another page. A page that is empty or shorter than the page size before then means
//!   items are missing ([`PagingError::Short`]); more items than the count, that the count
//!   was wrong ([`PagingError::Overflow`]).
//! - Without a count (`includeCount=false`, or an operation that never sends one), the walk
//!   ends at the first page shorter than the page size, or at the first empty page when
//!   the page size is not known.
//! - A page holding more items than the page size: [`PagingError::TooLong`].
//! - An item equal to one already handed out (overlapping pages): [`PagingError::Repeat`].
//!   Items are compared by their value as the type serialises it, so a type that keeps a
//!   field telling items apart (an `id`, a `name`) tells every two items apart; distinct
//!   items of one list whose typed values are equal are reported as a repeat.
//!
//! Atlas documents `totalCount` as possibly an estimate; where it is, the walk stops with
//! an error rather than return a list it cannot vouch for.
//!
//! ```
//! use atlas_runtime::AtlasError;
//! use atlas_runtime::paginate::{Items, Page};
//!
//! // A page of a list of numbers, the way a generated page type carries one.
//! struct Numbers {
//!     results: Vec<u32>,
//!     total_count: Option<i32>,
//! }
//!
//! impl Page for Numbers {
//!     type Item = u32;
//!     fn total_count(&self) -> Option<i64> {
//!         self.total_count.map(i64::from)
//!     }
//!     fn into_items(self) -> Vec<u32> {
//!         self.results
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), AtlasError> {
//! let list: Vec<u32> = (1..=7).collect();
//! let items = Items::new(Some(3), move |page_num: u32| {
//!     let start = ((page_num - 1) * 3) as usize;
//!     let results = list.iter().skip(start).take(3).copied().collect();
//!     async move { Ok::<_, AtlasError>(Numbers { results, total_count: Some(7) }) }
//! });
//! assert_eq!(items.all().await?, (1..=7).collect::<Vec<u32>>());
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use futures::Stream;
use futures::{TryFutureExt, TryStreamExt};
use progenitor_client::ResponseValue;
use serde::Serialize;

use crate::error::{AtlasError, ErrorKind};

/// One page of a paginated list: its items (`results`) and, when the answer says,
/// the size of the whole list (`totalCount`).
pub trait Page {
    /// One item of the list.
    type Item;
    /// `totalCount`: how many items the whole list holds, when the answer says.
    fn total_count(&self) -> Option<i64>;
    /// The items of this page, in the order of the answer.
    fn into_items(self) -> Vec<Self::Item>;
}

/// A count as a generated page type holds it: any integer, optional or not.
pub trait Count {
    /// The count, `None` when absent; a value beyond `i64` reads as `i64::MAX`.
    fn count(&self) -> Option<i64>;
}

macro_rules! count {
    ($($t:ty),*) => {$(
        impl Count for $t {
            fn count(&self) -> Option<i64> {
                Some(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
count!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<T: Count> Count for Option<T> {
    fn count(&self) -> Option<i64> {
        self.as_ref().and_then(Count::count)
    }
}

/// Why a walk stopped before the end of the list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PagingError {
    /// A page states another `totalCount` than the first page did (or none where the first
    /// stated one): the list changed during the walk, which shifts offset pages.
    #[error(
        "page {page} says the list holds {}, page 1 said {}: the list changed during the walk, so items could be repeated or skipped",
        count_text(*now),
        count_text(*first)
    )]
    CountChanged {
        /// The page, from 1.
        page: u32,
        /// The first page's `totalCount`.
        first: Option<i64>,
        /// This page's.
        now: Option<i64>,
    },
    /// A page ended the list (empty, or shorter than the page size) before the walk held
    /// `totalCount` items.
    #[error(
        "page {page} holds {} of a page size of {}, ending the list after {}, but totalCount is {total}: items are missing",
        items_text(*len as u64),
        size.map_or_else(|| "unknown".to_string(), |s| s.to_string()),
        items_text(*collected)
    )]
    Short {
        /// The page, from 1.
        page: u32,
        /// Its items.
        len: usize,
        /// The page size asked for, when known.
        size: Option<u32>,
        /// Items handed out so far, this page's included.
        collected: u64,
        /// The list's `totalCount`.
        total: i64,
    },
    /// The pages hold more items than `totalCount` says the list holds.
    #[error("page {page} brings the items to {collected}, more than totalCount ({total})")]
    Overflow {
        /// The page, from 1.
        page: u32,
        /// Items so far, this page's included.
        collected: u64,
        /// The list's `totalCount`.
        total: i64,
    },
    /// A page holds more items than were asked for.
    #[error("page {page} holds {}, more than the {size} asked for", items_text(*len as u64))]
    TooLong {
        /// The page, from 1.
        page: u32,
        /// Its items.
        len: usize,
        /// The page size asked for.
        size: u32,
    },
    /// An item equals one handed out before: pages overlap.
    #[error("item {index} of page {page} repeats an item of an earlier page or of the same page")]
    Repeat {
        /// The page, from 1.
        page: u32,
        /// The item's position in the page, from 0.
        index: usize,
    },
    /// A `totalCount` below zero.
    #[error("page {page} says the list holds {total} items, fewer than none")]
    NegativeCount {
        /// The page, from 1.
        page: u32,
        /// The count it states.
        total: i64,
    },
}

fn count_text(count: Option<i64>) -> String {
    match count {
        Some(n) => items_text(n),
        None => "no totalCount".to_string(),
    }
}

fn items_text(n: impl Into<i128>) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { "item" } else { "items" })
}

impl From<PagingError> for AtlasError {
    fn from(error: PagingError) -> Self {
        AtlasError::with_cause(ErrorKind::Incomplete, error)
    }
}

/// The request of one page, boxed.
pub type PageFuture<'a, P> = Pin<Box<dyn Future<Output = Result<P, AtlasError>> + Send + 'a>>;

type Fetch<'a, P> = Box<dyn FnMut(u32) -> PageFuture<'a, P> + Send + 'a>;

/// What the walk has learnt of the list so far, and decides about each page.
#[derive(Debug, Default)]
struct Check {
    /// The page size asked for, when known.
    size: Option<u32>,
    /// The last page received, from 1.
    page: u32,
    /// The first page's `totalCount` (`Some(None)`: the first page stated none).
    first_total: Option<Option<i64>>,
    /// Items accepted so far.
    collected: u64,
    /// Fingerprints of the items accepted so far.
    seen: HashSet<u64>,
    /// Whether the list is complete.
    done: bool,
}

impl Check {
    /// Checks the next page; afterwards `done` says whether the list is complete.
    fn page<T: Serialize>(&mut self, total: Option<i64>, items: &[T]) -> Result<(), PagingError> {
        self.page += 1;
        let page = self.page;
        if let Some(total) = total.filter(|t| *t < 0) {
            return Err(PagingError::NegativeCount { page, total });
        }
        match self.first_total {
            None => self.first_total = Some(total),
            Some(first) if first != total => {
                return Err(PagingError::CountChanged {
                    page,
                    first,
                    now: total,
                });
            }
            Some(_) => {}
        }
        let len = items.len();
        if let Some(size) = self.size
            && len > size as usize
        {
            return Err(PagingError::TooLong { page, len, size });
        }
        for (index, item) in items.iter().enumerate() {
            if !self.seen.insert(fingerprint(item)) {
                return Err(PagingError::Repeat { page, index });
            }
        }
        self.collected += len as u64;
        let short = len == 0 || self.size.is_some_and(|size| len < size as usize);
        match total {
            Some(total) => {
                let total_u = total as u64;
                if self.collected > total_u {
                    return Err(PagingError::Overflow {
                        page,
                        collected: self.collected,
                        total,
                    });
                }
                if self.collected == total_u {
                    self.done = true;
                } else if short {
                    return Err(PagingError::Short {
                        page,
                        len,
                        size: self.size,
                        collected: self.collected,
                        total,
                    });
                }
            }
            None => self.done = short,
        }
        Ok(())
    }
}

/// A fingerprint of an item's value: its JSON, hashed.
fn fingerprint<T: Serialize>(item: &T) -> u64 {
    struct Hashing<'a>(&'a mut std::hash::DefaultHasher);
    impl std::io::Write for Hashing<'_> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            bytes.hash(self.0);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hasher = std::hash::DefaultHasher::new();
    if serde_json::to_writer(Hashing(&mut hasher), item).is_err() {
        // A value that does not serialise is told apart by nothing: hash its failure alike.
        0u8.hash(&mut hasher);
    }
    hasher.finish()
}

/// Every item of a paginated list, page after page (see the [module](self) for the rule
/// it follows). A [`Stream`] of `Result<item, AtlasError>`: after an error it ends.
pub struct Items<'a, P: Page> {
    fetch: Fetch<'a, P>,
    pending: Option<PageFuture<'a, P>>,
    buffer: std::vec::IntoIter<P::Item>,
    check: Check,
    failed: bool,
}

impl<'a, P> Items<'a, P>
where
    P: Page + 'a,
    P::Item: Serialize,
{
    /// A walk asking for pages of `page_size` items (`None`: the operation's own size,
    /// unknown here), fetching page `n` (from 1) with `fetch(n)`.
    pub fn new<F, Fut>(page_size: Option<u32>, mut fetch: F) -> Self
    where
        F: FnMut(u32) -> Fut + Send + 'a,
        Fut: Future<Output = Result<P, AtlasError>> + Send + 'a,
    {
        Self {
            fetch: Box::new(move |page| Box::pin(fetch(page))),
            pending: None,
            buffer: Vec::new().into_iter(),
            check: Check {
                size: page_size,
                ..Check::default()
            },
            failed: false,
        }
    }

    /// [`Items::new`] for a generated operation: `fetch(n)` is its builder's `send()` for
    /// page `n`, whose answer and error become the page and an [`AtlasError`].
    pub fn of_sends<F, Fut, E>(page_size: Option<u32>, mut fetch: F) -> Self
    where
        F: FnMut(u32) -> Fut + Send + 'a,
        Fut: Future<Output = Result<ResponseValue<P>, crate::Error<E>>> + Send + 'a,
        E: Serialize + 'static,
    {
        Self::new(page_size, move |page| {
            fetch(page)
                .map_ok(ResponseValue::into_inner)
                .map_err(AtlasError::from)
        })
    }

    /// Every item, in the order of the pages; the first error ends the walk. A future of
    /// `Result<Vec<item>, AtlasError>`: an error means a page could not be had, or the
    /// pages do not add up to the list exactly (kind
    /// [`ErrorKind::Incomplete`], see the module).
    pub fn all(self) -> All<'a, P> {
        self.try_collect()
    }
}

/// The future of [`Items::all`]: `Result<Vec<item>, AtlasError>`.
pub type All<'a, P> = futures::stream::TryCollect<Items<'a, P>, Vec<<P as Page>::Item>>;

impl<P: Page> Items<'_, P> {
    /// The list's `totalCount`, once the first page has arrived and when it states one.
    pub fn total_count(&self) -> Option<i64> {
        self.check.first_total.flatten()
    }

    /// The pages received so far.
    pub fn pages(&self) -> u32 {
        self.check.page
    }
}

// No field is ever pinned in place: the page in flight is boxed.
impl<P: Page> Unpin for Items<'_, P> {}

impl<P> Stream for Items<'_, P>
where
    P: Page,
    P::Item: Serialize,
{
    type Item = Result<P::Item, AtlasError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.failed || this.check.done {
                return Poll::Ready(None);
            }
            let next = this.check.page + 1;
            let pending = this
                .pending
                .get_or_insert_with(|| (this.fetch)(next))
                .as_mut();
            let page = match pending.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(page) => page,
            };
            this.pending = None;
            let outcome = page.and_then(|page| {
                let total = page.total_count();
                let items = page.into_items();
                this.check.page(total, &items)?;
                Ok(items)
            });
            match outcome {
                Ok(items) => this.buffer = items.into_iter(),
                Err(e) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.buffer.len();
        match self.total_count() {
            Some(total) if !self.failed => {
                let left = (total as u64).saturating_sub(self.check.collected) as usize;
                (buffered, Some(buffered + left))
            }
            _ => (buffered, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A page as a test server answers it.
    #[derive(Clone, Debug)]
    struct TestPage {
        results: Vec<u32>,
        total: Option<i64>,
    }

    impl Page for TestPage {
        type Item = u32;
        fn total_count(&self) -> Option<i64> {
            self.total
        }
        fn into_items(self) -> Vec<u32> {
            self.results
        }
    }

    /// A server holding `list`, answering page `n` with the `n`th run of `size` items, and
    /// the list's length as `totalCount` when `count`.
    struct Server {
        list: Vec<u32>,
        size: usize,
        count: bool,
        asked: Arc<Mutex<Vec<u32>>>,
    }

    impl Server {
        fn new(list: impl IntoIterator<Item = u32>, size: usize) -> Self {
            Self {
                list: list.into_iter().collect(),
                size,
                count: true,
                asked: Arc::default(),
            }
        }

        fn honest(&self, page: u32) -> TestPage {
            let start = (page as usize - 1) * self.size;
            TestPage {
                results: self
                    .list
                    .iter()
                    .skip(start)
                    .take(self.size)
                    .copied()
                    .collect(),
                total: self.count.then_some(self.list.len() as i64),
            }
        }

        /// Walks the list with `known_size` as the page size the walk knows; `lie` turns the
        /// honest answer to a page (its number given) into the one sent.
        async fn walk(
            self,
            known_size: Option<u32>,
            lie: impl Fn(u32, TestPage) -> TestPage + Send + 'static,
        ) -> (Result<Vec<u32>, AtlasError>, Vec<u32>) {
            let asked = self.asked.clone();
            let items = Items::new(known_size, move |page| {
                self.asked.lock().unwrap().push(page);
                let answer = lie(page, self.honest(page));
                async move { Ok::<_, AtlasError>(answer) }
            });
            let outcome = items.all().await;
            let asked = asked.lock().unwrap().clone();
            (outcome, asked)
        }
    }

    fn paging_error(outcome: Result<Vec<u32>, AtlasError>) -> PagingError {
        let error = outcome.expect_err("the walk fails");
        assert_eq!(error.kind(), ErrorKind::Incomplete, "{error}");
        std::error::Error::source(&error)
            .and_then(|s| s.downcast_ref::<PagingError>())
            .cloned()
            .expect("the cause is a PagingError")
    }

    fn block<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn an_honest_list_comes_whole_in_as_few_requests_as_the_count_allows() {
        for (n, size, requests) in [(7, 3, 3), (6, 3, 2), (0, 3, 1), (1, 500, 1), (500, 500, 1)] {
            let (outcome, asked) =
                block(Server::new(1..=n, size).walk(Some(size as u32), |_, p| p));
            assert_eq!(
                outcome.unwrap(),
                (1..=n).collect::<Vec<_>>(),
                "{n} by {size}"
            );
            assert_eq!(asked, (1..=requests).collect::<Vec<_>>(), "{n} by {size}");
        }
    }

    #[test]
    fn without_a_count_the_first_short_page_ends_the_list() {
        let mut server = Server::new(1..=6, 3);
        server.count = false;
        let (outcome, asked) = block(server.walk(Some(3), |_, p| p));
        assert_eq!(outcome.unwrap(), (1..=6).collect::<Vec<_>>());
        assert_eq!(
            asked,
            [1, 2, 3],
            "a full last page needs an empty one after it"
        );
        let mut server = Server::new(1..=7, 3);
        server.count = false;
        let (outcome, asked) = block(server.walk(Some(3), |_, p| p));
        assert_eq!(outcome.unwrap().len(), 7);
        assert_eq!(asked, [1, 2, 3]);
        // The page size unknown: only an empty page ends the list.
        let mut server = Server::new(1..=7, 3);
        server.count = false;
        let (outcome, asked) = block(server.walk(None, |_, p| p));
        assert_eq!(outcome.unwrap().len(), 7);
        assert_eq!(asked, [1, 2, 3, 4]);
    }

    #[test]
    fn the_count_ends_the_walk_even_when_the_page_size_is_unknown() {
        let (outcome, asked) = block(Server::new(1..=7, 3).walk(None, |_, p| p));
        assert_eq!(outcome.unwrap().len(), 7);
        assert_eq!(asked, [1, 2, 3]);
    }

    #[test]
    fn a_count_larger_than_the_list_is_an_error_not_a_short_list() {
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |_, mut p| {
            p.total = Some(9);
            p
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::Short {
                page: 3,
                len: 1,
                size: Some(3),
                collected: 7,
                total: 9
            }
        );
        // A count that is a multiple of the page size away: the empty page tells.
        let (outcome, asked) = block(Server::new(1..=6, 3).walk(Some(3), |_, mut p| {
            p.total = Some(9);
            p
        }));
        assert!(matches!(
            paging_error(outcome),
            PagingError::Short {
                page: 3,
                len: 0,
                collected: 6,
                ..
            }
        ));
        assert_eq!(asked, [1, 2, 3]);
    }

    #[test]
    fn a_count_smaller_than_the_list_is_an_error() {
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |_, mut p| {
            p.total = Some(5);
            p
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::Overflow {
                page: 2,
                collected: 6,
                total: 5
            }
        );
    }

    #[test]
    fn a_count_that_changes_during_the_walk_is_an_error() {
        // An item added to the list after page 1 was read.
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |page, mut p| {
            if page >= 2 {
                p.total = Some(8);
            }
            p
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::CountChanged {
                page: 2,
                first: Some(7),
                now: Some(8)
            }
        );
        // A count that disappears.
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |page, mut p| {
            if page == 3 {
                p.total = None;
            }
            p
        }));
        assert!(matches!(
            paging_error(outcome),
            PagingError::CountChanged {
                page: 3,
                first: Some(7),
                now: None
            }
        ));
    }

    #[test]
    fn overlapping_pages_are_an_error_not_a_duplicate() {
        // Page 2 starts one item early (an item removed before it, the count kept).
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |page, p| {
            if page == 2 {
                TestPage {
                    results: vec![3, 4, 5],
                    ..p
                }
            } else {
                p
            }
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::Repeat { page: 2, index: 0 }
        );
        // A server that ignores pageNum and answers page 1 again, without a count.
        let mut server = Server::new(1..=7, 3);
        server.count = false;
        let (outcome, asked) = block(server.walk(Some(3), |_, _| TestPage {
            results: vec![1, 2, 3],
            total: None,
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::Repeat { page: 2, index: 0 }
        );
        assert_eq!(asked, [1, 2]);
        // The same item twice in one page.
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |page, p| {
            if page == 1 {
                TestPage {
                    results: vec![1, 2, 1],
                    ..p
                }
            } else {
                p
            }
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::Repeat { page: 1, index: 2 }
        );
    }

    #[test]
    fn a_page_that_skips_items_is_an_error() {
        // Page 2 starts one item late (an item added before it, the count kept): the list
        // runs out one item short.
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |page, p| match page {
            2 => TestPage {
                results: vec![5, 6, 7],
                ..p
            },
            3 => TestPage {
                results: vec![],
                ..p
            },
            _ => p,
        }));
        assert!(matches!(
            paging_error(outcome),
            PagingError::Short {
                page: 3,
                len: 0,
                collected: 6,
                total: 7,
                ..
            }
        ));
    }

    #[test]
    fn pages_longer_than_asked_and_negative_counts_are_errors() {
        let (outcome, _) = block(Server::new(1..=7, 4).walk(Some(3), |_, p| p));
        assert_eq!(
            paging_error(outcome),
            PagingError::TooLong {
                page: 1,
                len: 4,
                size: 3
            }
        );
        let (outcome, _) = block(Server::new(1..=7, 3).walk(Some(3), |_, mut p| {
            p.total = Some(-1);
            p
        }));
        assert_eq!(
            paging_error(outcome),
            PagingError::NegativeCount { page: 1, total: -1 }
        );
    }

    #[test]
    fn a_failed_page_ends_the_stream_after_the_items_before_it() {
        use futures::StreamExt;
        let list: Vec<u32> = (1..=7).collect();
        let mut items = Items::new(Some(3), move |page: u32| {
            let results: Vec<u32> = list
                .iter()
                .skip((page as usize - 1) * 3)
                .take(3)
                .copied()
                .collect();
            async move {
                if page == 2 {
                    Err(AtlasError::decode("page 2 broke"))
                } else {
                    Ok(TestPage {
                        results,
                        total: Some(7),
                    })
                }
            }
        });
        let got: Vec<Result<u32, AtlasError>> = block(async {
            let mut got = Vec::new();
            while let Some(item) = items.next().await {
                got.push(item);
            }
            assert_eq!(items.total_count(), Some(7));
            assert_eq!(items.pages(), 1);
            got
        });
        assert_eq!(got.len(), 4);
        assert!(got[..3].iter().all(Result::is_ok));
        assert_eq!(got[3].as_ref().unwrap_err().to_string(), "page 2 broke");
    }

    #[test]
    fn messages_say_what_happened() {
        let e = AtlasError::from(PagingError::CountChanged {
            page: 2,
            first: Some(7),
            now: Some(8),
        });
        assert_eq!(
            e.to_string(),
            "page 2 says the list holds 8 items, page 1 said 7 items: the list changed during the walk, so items could be repeated or skipped"
        );
        let e = PagingError::Short {
            page: 3,
            len: 1,
            size: Some(3),
            collected: 7,
            total: 9,
        };
        assert_eq!(
            e.to_string(),
            "page 3 holds 1 item of a page size of 3, ending the list after 7 items, but totalCount is 9: items are missing"
        );
    }

    #[test]
    fn counts_of_every_integer_type() {
        assert_eq!(Count::count(&Some(3_u32)), Some(3));
        assert_eq!(Count::count(&None::<i32>), None);
        assert_eq!(Count::count(&7_i64), Some(7));
        assert_eq!(Count::count(&u64::MAX), Some(i64::MAX));
    }
}

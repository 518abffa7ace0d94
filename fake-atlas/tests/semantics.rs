//! Each reading of the access-history window and page (`WindowSemantics`) against the
//! ground truth of the data set: which entries a request returns, and in what order.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::{ACCESS, DigestClient, fake_with, path};
use fake_atlas::data::{DAY_MS, Entry, HOUR_MS};
use fake_atlas::{Config, DataConfig, DataSet, FakeAtlas, PageOrder, Precision, WindowSemantics};
use serde_json::Value;

/// Every combination of the two bounds' inclusiveness, with the given precision and page.
fn bound_variants(precision: Precision, page: PageOrder) -> Vec<WindowSemantics> {
    [(true, true), (true, false), (false, true), (false, false)]
        .into_iter()
        .map(|(start_inclusive, end_inclusive)| WindowSemantics {
            start_inclusive,
            end_inclusive,
            precision,
            page,
        })
        .collect()
}

fn with(precision: Precision, page: PageOrder) -> WindowSemantics {
    WindowSemantics {
        precision,
        page,
        ..WindowSemantics::default()
    }
}

async fn fake(entries: usize, same_ms_burst: usize, semantics: WindowSemantics) -> FakeAtlas {
    fake_with(entries, |c| {
        c.data.same_ms_burst = same_ms_burst;
        c.semantics = semantics;
    })
    .await
}

/// The `accessLogs` of a successful call.
async fn page(client: &mut DigestClient, path_and_query: &str) -> Vec<Value> {
    let response = client.get(path_and_query, ACCESS).await;
    assert_eq!(response.status(), 200, "{path_and_query}");
    let body: Value = response.json().await.unwrap();
    body["accessLogs"].as_array().unwrap().clone()
}

/// What a request asks for, apart from the reading.
#[derive(Clone, Copy)]
struct Ask<'a> {
    hosts: &'a [u16],
    window: Option<(i64, i64)>,
    auth_result: Option<bool>,
    ip: Option<&'a str>,
    n_logs: usize,
}

impl<'a> Ask<'a> {
    fn new(hosts: &'a [u16], start: i64, end: i64, n_logs: usize) -> Self {
        Self {
            hosts,
            window: Some((start, end)),
            auth_result: None,
            ip: None,
            n_logs,
        }
    }

    fn query(&self) -> String {
        let mut query = format!("nLogs={}", self.n_logs);
        if let Some((start, end)) = self.window {
            query.push_str(&format!("&start={start}&end={end}"));
        }
        if let Some(ok) = self.auth_result {
            query.push_str(&format!("&authResult={ok}"));
        }
        if let Some(ip) = self.ip {
            query.push_str(&format!("&ipAddress={}", ip.replace(':', "%3A")));
        }
        query
    }
}

/// Whether an entry time falls in the window under `semantics`, straight from its
/// definition.
fn in_window(ts_ms: i64, (start, end): (i64, i64), semantics: WindowSemantics) -> bool {
    let (t, s, e) = match semantics.precision {
        Precision::Millis => (ts_ms, start, end),
        Precision::Seconds => (
            ts_ms.div_euclid(1000),
            start.div_euclid(1000),
            end.div_euclid(1000),
        ),
    };
    let after_start = if semantics.start_inclusive {
        t >= s
    } else {
        t > s
    };
    let before_end = if semantics.end_inclusive {
        t <= e
    } else {
        t < e
    };
    after_start && before_end
}

/// Every matching entry, newest first (the data set's order).
fn matching<'d>(data: &'d DataSet, ask: &Ask, semantics: WindowSemantics) -> Vec<&'d Entry> {
    data.entries
        .iter()
        .filter(|e| ask.hosts.contains(&e.host))
        .filter(|e| ask.window.is_none_or(|w| in_window(e.ts_ms, w, semantics)))
        .filter(|e| ask.auth_result.is_none_or(|ok| ok == e.failure.is_none()))
        .filter(|e| ask.ip.is_none_or(|ip| data.ips[e.ip as usize] == ip))
        .collect()
}

/// The page `semantics` defines: for `NewestAnyOrder` the right entries in newest-first
/// order (compare it with `assert_page`, which ignores that order).
fn expected(data: &DataSet, ask: &Ask, semantics: WindowSemantics) -> Vec<Value> {
    let all = matching(data, ask, semantics);
    let chosen: Vec<&Entry> = match semantics.page {
        PageOrder::NewestFirst | PageOrder::NewestAnyOrder => {
            all.into_iter().take(ask.n_logs).collect()
        }
        PageOrder::OldestFirst => all.into_iter().rev().take(ask.n_logs).collect(),
    };
    chosen
        .into_iter()
        .map(|e| data.entry_json(e, false))
        .collect()
}

fn sorted(values: &[Value]) -> Vec<String> {
    let mut strings: Vec<String> = values.iter().map(Value::to_string).collect();
    strings.sort();
    strings
}

/// The page holds exactly the expected entries: in the expected order, or, for
/// `NewestAnyOrder`, as the same multiset in an order not sorted by time either way
/// (when there are at least three entries of two or more times).
fn assert_page(got: &[Value], want: &[Value], semantics: WindowSemantics, context: &str) {
    match semantics.page {
        PageOrder::NewestFirst | PageOrder::OldestFirst => {
            assert!(got == want, "{context}: {semantics:?}: got {got:#?}")
        }
        PageOrder::NewestAnyOrder => {
            assert_eq!(got.len(), want.len(), "{context}: {semantics:?}: page size");
            assert!(
                sorted(got) == sorted(want),
                "{context}: {semantics:?}: the newest entries"
            );
            let times = times(got);
            if times.len() >= 3 && times.iter().any(|t| *t != times[0]) {
                assert!(!descending(&times), "{context}: newest first: {times:?}");
                assert!(!ascending(&times), "{context}: oldest first: {times:?}");
            }
        }
    }
}

/// The millisecond time of each entry of a page, from its MongoDB log line.
fn times(page: &[Value]) -> Vec<i64> {
    page.iter()
        .map(|v| {
            let line: Value = serde_json::from_str(v["logLine"].as_str().unwrap()).unwrap();
            chrono::DateTime::parse_from_rfc3339(line["t"]["$date"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect()
}

fn descending(times: &[i64]) -> bool {
    times.windows(2).all(|w| w[0] >= w[1])
}

fn ascending(times: &[i64]) -> bool {
    times.windows(2).all(|w| w[0] <= w[1])
}

fn json_of(data: &DataSet, entries: &[&Entry]) -> Vec<Value> {
    entries.iter().map(|e| data.entry_json(e, false)).collect()
}

fn contains_all(page: &[Value], entries: &[Value]) -> bool {
    entries.iter().all(|e| page.contains(e))
}

fn contains_none(page: &[Value], entries: &[Value]) -> bool {
    entries.iter().all(|e| !page.contains(e))
}

fn hosts_of(data: &DataSet, cluster: usize) -> Vec<u16> {
    data.clusters[cluster]
        .hosts
        .iter()
        .map(|h| data.host_index(h).unwrap())
        .collect()
}

/// Seconds holding entries of `hosts` at two or more different milliseconds, each with
/// the times of its earliest and its latest entry there, oldest second first.
fn split_seconds(data: &DataSet, hosts: &[u16]) -> Vec<(i64, i64, i64)> {
    let mut seconds = BTreeMap::<i64, (i64, i64)>::new();
    for e in data.entries.iter().filter(|e| hosts.contains(&e.host)) {
        let span = seconds
            .entry(e.ts_ms.div_euclid(1000))
            .or_insert((e.ts_ms, e.ts_ms));
        span.0 = span.0.min(e.ts_ms);
        span.1 = span.1.max(e.ts_ms);
    }
    seconds
        .into_iter()
        .filter(|(_, (first, last))| first < last)
        .map(|(second, (first, last))| (second, first, last))
        .collect()
}

#[test]
fn the_default_reading_is_inclusive_millisecond_newest_first() {
    let semantics = WindowSemantics::default();
    assert!(semantics.start_inclusive);
    assert!(semantics.end_inclusive);
    assert_eq!(semantics.precision, Precision::Millis);
    assert_eq!(semantics.page, PageOrder::NewestFirst);
    assert_eq!(Config::default().semantics, semantics);
}

/// A window from one entry's millisecond to another's. Each of the four bound variants, in
/// milliseconds and in whole seconds: the two bound seconds each hold entries at two
/// different milliseconds, one on the bound and one off it.
#[tokio::test]
async fn bounds_on_entry_times_inclusive_or_exclusive() {
    let data = DataSet::generate(&DataConfig {
        entries: 20_000,
        ..DataConfig::default()
    });
    let hosts = hosts_of(&data, 0);
    let split = split_seconds(&data, &hosts);
    // Two split seconds a few seconds apart: the first's earliest time is the start, the
    // second's latest time is the end.
    let (first, rest) = split.split_first().expect("split seconds exist");
    let (start_second, start, start_later) = *first;
    let (end_second, end_earlier, end) = *rest
        .iter()
        .find(|(second, _, _)| *second >= start_second + 3)
        .expect("a later split second");
    let at = |pred: &dyn Fn(i64) -> bool| -> Vec<Value> {
        let entries: Vec<&Entry> = data
            .entries
            .iter()
            .filter(|e| hosts.contains(&e.host) && pred(e.ts_ms))
            .collect();
        json_of(&data, &entries)
    };
    let on_start = at(&|t| t == start);
    let on_end = at(&|t| t == end);
    // In the bound seconds, off the bounds.
    let start_second_after = at(&|t| t.div_euclid(1000) == start_second && t > start);
    let end_second_before = at(&|t| t.div_euclid(1000) == end_second && t < end);
    let strictly_inside_seconds =
        at(&|t| t.div_euclid(1000) > start_second && t.div_euclid(1000) < end_second);
    assert!(!on_start.is_empty() && !on_end.is_empty());
    assert!(start_later > start && end_earlier < end);
    assert!(!start_second_after.is_empty() && !end_second_before.is_empty());
    assert!(!strictly_inside_seconds.is_empty());

    for precision in [Precision::Millis, Precision::Seconds] {
        for semantics in bound_variants(precision, PageOrder::NewestFirst) {
            let atlas = fake(20_000, 0, semantics).await;
            assert_eq!(atlas.data().entries.len(), data.entries.len());
            let mut client = DigestClient::demo(&atlas.base_url());
            let ask = Ask::new(&hosts, start, end, 20_000);
            let got = page(
                &mut client,
                &path(
                    &atlas,
                    &format!(
                        "/dbAccessHistory/clusters/{}?{}",
                        data.clusters[0].name,
                        ask.query()
                    ),
                ),
            )
            .await;
            assert_page(&got, &expected(&data, &ask, semantics), semantics, "bounds");
            assert!(
                contains_all(&got, &strictly_inside_seconds),
                "{semantics:?}"
            );
            match precision {
                Precision::Millis => {
                    // Only the bound milliseconds depend on inclusiveness.
                    assert!(contains_all(&got, &start_second_after), "{semantics:?}");
                    assert!(contains_all(&got, &end_second_before), "{semantics:?}");
                    assert_eq!(contains_all(&got, &on_start), semantics.start_inclusive);
                    assert_eq!(contains_none(&got, &on_start), !semantics.start_inclusive);
                    assert_eq!(contains_all(&got, &on_end), semantics.end_inclusive);
                    assert_eq!(contains_none(&got, &on_end), !semantics.end_inclusive);
                }
                Precision::Seconds => {
                    // The bound seconds come or go whole.
                    let start_whole = [on_start.clone(), start_second_after.clone()].concat();
                    let end_whole = [on_end.clone(), end_second_before.clone()].concat();
                    assert_eq!(contains_all(&got, &start_whole), semantics.start_inclusive);
                    assert_eq!(
                        contains_none(&got, &start_whole),
                        !semantics.start_inclusive
                    );
                    assert_eq!(contains_all(&got, &end_whole), semantics.end_inclusive);
                    assert_eq!(contains_none(&got, &end_whole), !semantics.end_inclusive);
                }
            }
        }
    }
}

/// Under `Seconds`, a window inside one second returns every entry of that second; under
/// `Millis`, only what it covers.
#[tokio::test]
async fn a_window_inside_one_second_reads_the_whole_second() {
    let millis = fake(20_000, 0, WindowSemantics::default()).await;
    let seconds = fake(20_000, 0, with(Precision::Seconds, PageOrder::NewestFirst)).await;
    let data = millis.data().clone();
    let hosts = hosts_of(&data, 1);
    let cluster = &data.clusters[1].name;
    let split = split_seconds(&data, &hosts);
    let (second, earliest, latest) = split[split.len() / 2];
    let whole_second: Vec<Value> = {
        let entries: Vec<&Entry> = data
            .entries
            .iter()
            .filter(|e| hosts.contains(&e.host) && e.ts_ms.div_euclid(1000) == second)
            .collect();
        json_of(&data, &entries)
    };
    let at_latest: Vec<Value> = {
        let entries: Vec<&Entry> = data
            .entries
            .iter()
            .filter(|e| hosts.contains(&e.host) && e.ts_ms == latest)
            .collect();
        json_of(&data, &entries)
    };
    assert!(whole_second.len() > at_latest.len());

    // One millisecond, and a stretch from just after the earliest entry of the second to
    // its last millisecond.
    for (start, end) in [(latest, latest), (earliest + 1, second * 1000 + 999)] {
        let ask = Ask::new(&hosts, start, end, 20_000);
        let tail = format!("/dbAccessHistory/clusters/{cluster}?{}", ask.query());

        let mut client = DigestClient::demo(&seconds.base_url());
        let got = page(&mut client, &path(&seconds, &tail)).await;
        let semantics = seconds_semantics();
        assert_page(
            &got,
            &expected(&data, &ask, semantics),
            semantics,
            "seconds",
        );
        assert!(got == whole_second, "the whole second, newest first");

        let mut client = DigestClient::demo(&millis.base_url());
        let got = page(&mut client, &path(&millis, &tail)).await;
        let semantics = WindowSemantics::default();
        assert_page(&got, &expected(&data, &ask, semantics), semantics, "millis");
        assert!(got.len() < whole_second.len());
        if start == end {
            assert!(got == at_latest, "one millisecond");
        }
    }

    // A single-second window with an exclusive bound is empty under `Seconds`.
    for semantics in bound_variants(Precision::Seconds, PageOrder::NewestFirst)
        .into_iter()
        .filter(|s| !s.start_inclusive || !s.end_inclusive)
    {
        let atlas = fake(20_000, 0, semantics).await;
        let mut client = DigestClient::demo(&atlas.base_url());
        let ask = Ask::new(&hosts, earliest, latest, 20_000);
        let got = page(
            &mut client,
            &path(
                &atlas,
                &format!("/dbAccessHistory/clusters/{cluster}?{}", ask.query()),
            ),
        )
        .await;
        assert!(got.is_empty(), "{semantics:?}: {got:#?}");
    }
}

fn seconds_semantics() -> WindowSemantics {
    with(Precision::Seconds, PageOrder::NewestFirst)
}

/// With more matches than `nLogs`: the newest page or the oldest, in each page order, on
/// both operations and with the `authResult` and `ipAddress` filters.
#[tokio::test]
async fn capped_pages_hold_the_newest_or_the_oldest() {
    for page_order in [
        PageOrder::NewestFirst,
        PageOrder::NewestAnyOrder,
        PageOrder::OldestFirst,
    ] {
        for precision in [Precision::Millis, Precision::Seconds] {
            let semantics = with(precision, page_order);
            let atlas = fake(20_000, 0, semantics).await;
            let data = atlas.data().clone();
            let mut client = DigestClient::demo(&atlas.base_url());
            let now = data.config.now_ms;
            // Bounds off whole seconds, so that the precisions differ.
            let (start, end) = (now - 2 * DAY_MS - 250, now - DAY_MS + 250);
            let cluster_hosts = hosts_of(&data, 2);
            let host = data.clusters[2].hosts[1].clone();
            let host_only = [data.host_index(&host).unwrap()];
            let ip = data.ips[data.entries[0].ip as usize].clone();

            let cluster_tail = format!("/dbAccessHistory/clusters/{}", data.clusters[2].name);
            let host_tail = format!("/dbAccessHistory/processes/{host}");
            let asks = [
                (
                    cluster_tail.as_str(),
                    Ask::new(&cluster_hosts, start, end, 100),
                ),
                (host_tail.as_str(), Ask::new(&host_only, start, end, 40)),
                (
                    cluster_tail.as_str(),
                    Ask {
                        auth_result: Some(false),
                        ..Ask::new(&cluster_hosts, start, end, 30)
                    },
                ),
                (
                    cluster_tail.as_str(),
                    Ask {
                        ip: Some(&ip),
                        ..Ask::new(&cluster_hosts, now - 7 * DAY_MS, now, 5)
                    },
                ),
                (
                    cluster_tail.as_str(),
                    Ask {
                        window: None,
                        ..Ask::new(&cluster_hosts, 0, 0, 50)
                    },
                ),
            ];
            for (tail, ask) in asks {
                let all = matching(&data, &ask, semantics);
                assert!(
                    all.len() >= 2 * ask.n_logs,
                    "{tail} {}: {} matches",
                    ask.query(),
                    all.len()
                );
                let got = page(
                    &mut client,
                    &path(&atlas, &format!("{tail}?{}", ask.query())),
                )
                .await;
                let context = format!("{tail}?{}", ask.query());
                assert_page(&got, &expected(&data, &ask, semantics), semantics, &context);
                assert_eq!(got.len(), ask.n_logs);
                let newest = json_of(&data, &all[..ask.n_logs]);
                let oldest = json_of(&data, &all[all.len() - ask.n_logs..]);
                let times = times(&got);
                match page_order {
                    PageOrder::NewestFirst => {
                        assert!(got == newest, "{context}");
                        assert!(descending(&times), "{context}");
                    }
                    PageOrder::NewestAnyOrder => {
                        assert!(sorted(&got) == sorted(&newest), "{context}");
                        assert!(!descending(&times) && !ascending(&times), "{context}");
                    }
                    PageOrder::OldestFirst => {
                        assert!(sorted(&got) == sorted(&oldest), "{context}");
                        assert!(ascending(&times), "{context}");
                        assert!(contains_none(&got, &newest), "{context}");
                        // The very oldest match comes first.
                        assert_eq!(got[0], data.entry_json(all[all.len() - 1], false));
                    }
                }
            }
        }
    }
}

/// `NewestAnyOrder` scrambles every page of three or more entries with distinct times,
/// the same way on every call.
#[tokio::test]
async fn newest_any_order_is_scrambled_and_deterministic() {
    let semantics = with(Precision::Millis, PageOrder::NewestAnyOrder);
    let atlas = fake(5_000, 0, semantics).await;
    let data = atlas.data().clone();
    let mut client = DigestClient::demo(&atlas.base_url());
    let hosts = hosts_of(&data, 0);
    let now = data.config.now_ms;
    let (start, end) = (now - 4 * DAY_MS, now - HOUR_MS);
    for n_logs in (3..=12).chain([25, 200]) {
        let ask = Ask::new(&hosts, start, end, n_logs);
        let tail = path(
            &atlas,
            &format!(
                "/dbAccessHistory/clusters/{}?{}",
                data.clusters[0].name,
                ask.query()
            ),
        );
        let got = page(&mut client, &tail).await;
        assert_page(&got, &expected(&data, &ask, semantics), semantics, &tail);
        let times = times(&got);
        assert_eq!(times.len(), n_logs);
        assert!(!descending(&times), "n={n_logs}: {times:?}");
        assert!(!ascending(&times), "n={n_logs}: {times:?}");
        if n_logs >= 25 {
            // Scrambled throughout, not one swap away from either order: a good share of
            // neighbours run each way.
            let down = times.windows(2).filter(|w| w[0] > w[1]).count();
            let up = times.windows(2).filter(|w| w[0] < w[1]).count();
            assert!(
                down >= n_logs / 4 && up >= n_logs / 4,
                "n={n_logs}: {down} down, {up} up"
            );
        }
        let again = page(&mut client, &tail).await;
        assert!(got == again, "n={n_logs}: the same order every time");
    }
    // Three entries of distinct times, exactly.
    let all = matching(&data, &Ask::new(&hosts, start, end, 3), semantics);
    // The middle three of five entries of strictly decreasing times: no other match shares
    // the window's bounds.
    let five = all
        .windows(5)
        .position(|w| w.windows(2).all(|p| p[0].ts_ms > p[1].ts_ms))
        .expect("five entries of distinct times in a row");
    let (newest, oldest) = (all[five + 1].ts_ms, all[five + 3].ts_ms);
    let ask = Ask::new(&hosts, oldest, newest, 20_000);
    let tail = path(
        &atlas,
        &format!(
            "/dbAccessHistory/clusters/{}?{}",
            data.clusters[0].name,
            ask.query()
        ),
    );
    let got = page(&mut client, &tail).await;
    assert_eq!(got.len(), 3);
    assert_page(&got, &expected(&data, &ask, semantics), semantics, &tail);
    let times = times(&got);
    assert!(!descending(&times) && !ascending(&times), "{times:?}");
}

/// At a single-millisecond burst, whole-second reading takes or drops the burst whole,
/// wherever in its second the bounds fall; and a capped page takes its newest or oldest
/// entries.
#[tokio::test]
async fn seconds_at_a_same_millisecond_burst() {
    const BURST: usize = 3_000;
    let data = DataSet::generate(&DataConfig {
        entries: 6_000,
        same_ms_burst: BURST,
        ..DataConfig::default()
    });
    let burst_ms = data.config.now_ms - 2 * DAY_MS + 123;
    let second = burst_ms.div_euclid(1000);
    let hosts = hosts_of(&data, 0);
    let cluster = data.clusters[0].name.clone();
    let burst: Vec<&Entry> = data
        .entries
        .iter()
        .filter(|e| e.ts_ms == burst_ms && hosts.contains(&e.host))
        .collect();
    assert!(burst.len() > 300, "{}", burst.len());
    let burst_json = json_of(&data, &burst);

    // (window, whether Millis takes the burst, whether Seconds takes it), per bound variant.
    let (before, after) = (burst_ms - 100, burst_ms + 500);
    let windows = [
        // Inside the burst's second, after the burst.
        (burst_ms + 1, second * 1000 + 999),
        // Inside the burst's second, before the burst.
        (second * 1000, burst_ms - 1),
        // Starting before the burst in its second, ending seconds later.
        (before, burst_ms + 5_000),
        // Starting seconds earlier, ending after the burst in its second.
        (burst_ms - 5_000, after),
        // On the burst's millisecond.
        (burst_ms, burst_ms),
    ];
    for precision in [Precision::Millis, Precision::Seconds] {
        for semantics in bound_variants(precision, PageOrder::NewestFirst) {
            let atlas = fake(6_000, BURST, semantics).await;
            let mut client = DigestClient::demo(&atlas.base_url());
            for (start, end) in windows {
                let ask = Ask::new(&hosts, start, end, 20_000);
                let got = page(
                    &mut client,
                    &path(
                        &atlas,
                        &format!("/dbAccessHistory/clusters/{cluster}?{}", ask.query()),
                    ),
                )
                .await;
                let context = format!("[{start}, {end}]");
                assert_page(&got, &expected(&data, &ask, semantics), semantics, &context);
                let takes = in_window(burst_ms, (start, end), semantics);
                assert_eq!(
                    contains_all(&got, &burst_json),
                    takes,
                    "{context} {semantics:?}"
                );
                assert_eq!(
                    contains_none(&got, &burst_json),
                    !takes,
                    "{context} {semantics:?}"
                );
            }
        }
    }
    // Spot checks of the whole-second reading against the millisecond one.
    let seconds = seconds_semantics();
    let millis = WindowSemantics::default();
    assert!(in_window(burst_ms, windows[0], seconds) && !in_window(burst_ms, windows[0], millis));
    assert!(in_window(burst_ms, windows[1], seconds) && !in_window(burst_ms, windows[1], millis));
    let start_exclusive = WindowSemantics {
        start_inclusive: false,
        ..seconds
    };
    assert!(!in_window(burst_ms, windows[2], start_exclusive));
    let end_exclusive = WindowSemantics {
        end_inclusive: false,
        ..seconds
    };
    assert!(!in_window(burst_ms, windows[3], end_exclusive));

    // A page smaller than the burst, within the burst's second.
    for page_order in [
        PageOrder::NewestFirst,
        PageOrder::NewestAnyOrder,
        PageOrder::OldestFirst,
    ] {
        let semantics = with(Precision::Seconds, page_order);
        let atlas = fake(6_000, BURST, semantics).await;
        let mut client = DigestClient::demo(&atlas.base_url());
        for auth_result in [None, Some(false)] {
            let ask = Ask {
                auth_result,
                ..Ask::new(&hosts, second * 1000 + 600, second * 1000 + 700, 50)
            };
            let got = page(
                &mut client,
                &path(
                    &atlas,
                    &format!("/dbAccessHistory/clusters/{cluster}?{}", ask.query()),
                ),
            )
            .await;
            assert_page(
                &got,
                &expected(&data, &ask, semantics),
                semantics,
                "burst page",
            );
            assert_eq!(got.len(), 50);
            let of_burst: Vec<&Entry> = burst
                .iter()
                .copied()
                .filter(|e| auth_result.is_none_or(|ok| ok == e.failure.is_none()))
                .collect();
            let newest = json_of(&data, &of_burst[..50]);
            let oldest = json_of(&data, &of_burst[of_burst.len() - 50..]);
            assert!(
                contains_none(&newest, &oldest),
                "the burst is over 100 long"
            );
            match page_order {
                PageOrder::NewestFirst => assert!(got == newest),
                PageOrder::NewestAnyOrder => assert!(sorted(&got) == sorted(&newest)),
                PageOrder::OldestFirst => {
                    let mut reversed = oldest.clone();
                    reversed.reverse();
                    assert!(got == reversed);
                }
            }
        }
    }
}

/// The binary's flags select the reading.
#[tokio::test]
async fn binary_flags_select_the_reading() {
    let runs: [(&[&str], WindowSemantics); 3] = [
        (
            &[
                "--start-exclusive",
                "--end-exclusive",
                "--precision",
                "seconds",
                "--page",
                "oldest-first",
            ],
            WindowSemantics {
                start_inclusive: false,
                end_inclusive: false,
                precision: Precision::Seconds,
                page: PageOrder::OldestFirst,
            },
        ),
        (
            &["--start-exclusive", "--page", "newest-any-order"],
            WindowSemantics {
                start_inclusive: false,
                ..with(Precision::Millis, PageOrder::NewestAnyOrder)
            },
        ),
        (
            &[
                "--end-exclusive",
                "--precision",
                "millis",
                "--page",
                "newest-first",
            ],
            WindowSemantics {
                end_inclusive: false,
                ..WindowSemantics::default()
            },
        ),
    ];
    let data = DataSet::generate(&DataConfig {
        entries: 3_000,
        ..DataConfig::default()
    });
    let hosts = hosts_of(&data, 0);
    let split = split_seconds(&data, &hosts);
    let (start, end) = (split[1].1, split[split.len() - 2].2);
    for (flags, semantics) in runs {
        // The library's default present, which `data` above was made with.
        let now = fake_atlas::data::DEFAULT_NOW_MS.to_string();
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--entries",
            "3000",
            "--now",
            &now,
        ];
        args.extend(flags.iter().copied());
        let (mut child, base) = common::spawn_binary(&args, Stdio::null());
        let mut client = DigestClient::demo(&base);
        let mut results = Vec::new();
        for n_logs in [20_000, 10] {
            let ask = Ask::new(&hosts, start, end, n_logs);
            let uri = format!(
                "/api/atlas/v2/groups/{}/dbAccessHistory/clusters/{}?{}",
                data.group_id,
                data.clusters[0].name,
                ask.query()
            );
            let response = client.get(&uri, ACCESS).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            results.push((ask, status, body));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for (ask, status, body) in results {
            assert_eq!(status, 200, "{flags:?}");
            let got = body["accessLogs"].as_array().unwrap();
            assert!(got.len() >= 3, "{flags:?}");
            assert_page(
                got,
                &expected(&data, &ask, semantics),
                semantics,
                &format!("{flags:?}"),
            );
        }
    }

    let output = Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args(["--page", "sideways"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--start-exclusive",
        "--end-exclusive",
        "--precision",
        "--page",
        "newest-any-order",
        "oldest-first",
        "seconds",
    ] {
        assert!(help.contains(flag), "--help names {flag}");
    }
}

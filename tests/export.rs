//! The exact export end to end against fake-atlas under every reading of the window it
//! can be switched to: start and end inclusive or exclusive, milliseconds or whole seconds,
//! pages of the newest entries newest first or in any order, or of the oldest. Under each,
//! the export equals the ground truth byte for byte, or stops with an error; never a silent
//! loss or duplicate.

use std::collections::BTreeMap;

use atlas_client::ErrorKind;
use atlas_client_tests::{fake, service_client};
use atlas_log_export::{AccessLogExport, Target};
use fake_atlas::{DataSet, PageOrder, Precision, WindowSemantics};

fn every_reading() -> Vec<WindowSemantics> {
    let mut all = Vec::new();
    for start_inclusive in [true, false] {
        for end_inclusive in [true, false] {
            for precision in [Precision::Millis, Precision::Seconds] {
                for page in [
                    PageOrder::NewestFirst,
                    PageOrder::NewestAnyOrder,
                    PageOrder::OldestFirst,
                ] {
                    all.push(WindowSemantics {
                        start_inclusive,
                        end_inclusive,
                        precision,
                        page,
                    });
                }
            }
        }
    }
    all
}

fn hosts(data: &DataSet, cluster: &str) -> Vec<u16> {
    data.cluster(cluster)
        .unwrap()
        .hosts
        .iter()
        .map(|h| data.host_index(h).unwrap())
        .collect()
}

/// The entries of Cluster0 in `[start, end]`, as fake-atlas sends them, by line.
fn truth(data: &DataSet, start: i64, end: i64) -> BTreeMap<String, usize> {
    truth_of(data, "Cluster0", start, end)
}

/// The entries of a cluster in `[start, end]`, as fake-atlas sends them, by line.
fn truth_of(data: &DataSet, cluster: &str, start: i64, end: i64) -> BTreeMap<String, usize> {
    let hosts = hosts(data, cluster);
    let mut lines = BTreeMap::new();
    for e in data
        .entries
        .iter()
        .filter(|e| hosts.contains(&e.host) && (start..=end).contains(&e.ts_ms))
    {
        *lines
            .entry(data.entry_json(e, false).to_string())
            .or_insert(0) += 1;
    }
    lines
}

/// The largest number of Cluster0's entries one millisecond holds, in all and per outcome.
fn densest_instant(data: &DataSet) -> (usize, usize) {
    let hosts = hosts(data, "Cluster0");
    let mut by_ms: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for e in data.entries.iter().filter(|e| hosts.contains(&e.host)) {
        let slot = by_ms.entry(e.ts_ms).or_default();
        if e.failure.is_none() {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }
    by_ms.values().fold((0, 0), |(all, part), (ok, failed)| {
        (all.max(ok + failed), part.max(*ok.max(failed)))
    })
}

async fn export(
    atlas: &fake_atlas::FakeAtlas,
    start: i64,
    end: i64,
    page: u32,
) -> Result<(BTreeMap<String, usize>, usize), atlas_client::AtlasError> {
    let client = service_client(atlas);
    let mut export = AccessLogExport::builder(
        &client,
        atlas.data().group_id.clone(),
        Target::Cluster("Cluster0".into()),
    )
    .start(start)
    .end(end)
    .page_size(page)
    .build()?;
    let mut lines = BTreeMap::new();
    let mut count = 0;
    while let Some(entry) = export.next_entry().await? {
        *lines.entry(entry.raw_json().to_string()).or_insert(0) += 1;
        count += 1;
    }
    assert!(export.checkpoint().is_some());
    Ok((lines, count))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_every_reading_of_the_window() {
    for semantics in every_reading() {
        let atlas = fake(|c| {
            c.data.entries = 12_000;
            c.data.same_ms_burst = 700;
            c.semantics = semantics;
        })
        .await;
        let data = atlas.data().clone();
        let (densest, densest_part) = densest_instant(&data);
        // Pages smaller than the densest millisecond, larger than its densest outcome: every
        // way of narrowing is needed, and an exact result is possible.
        assert!(densest_part < densest, "the data must need a split");
        let page = densest_part as u32 + 1;
        // Bounds exactly on entries' times, so that inclusive and exclusive readings differ.
        let hosts = hosts(&data, "Cluster0");
        let ours: Vec<i64> = data
            .entries
            .iter()
            .filter(|e| hosts.contains(&e.host))
            .map(|e| e.ts_ms)
            .collect();
        let (end, start) = (ours[10], ours[ours.len() - 10]);
        let expected = truth(&data, start, end);
        let started = std::time::Instant::now();
        let (got, count) = export(&atlas, start, end, page)
            .await
            .unwrap_or_else(|e| panic!("{semantics:?}: {e}"));
        eprintln!(
            "{semantics:?}: {count} entries, page {page}, {} requests, {:?}",
            atlas.stats().access_cluster,
            started.elapsed()
        );
        let expected_count: usize = expected.values().sum();
        assert_eq!(count, expected_count, "{semantics:?}: count");
        assert!(
            got == expected,
            "{semantics:?}: {} lines differ",
            got.iter()
                .filter(|(l, n)| expected.get(*l) != Some(n))
                .count()
        );
        let stats = atlas.stats();
        let floor = expected_count.div_ceil(page as usize) as u64;
        assert!(
            stats.access_cluster >= floor,
            "{semantics:?}: {} requests",
            stats.access_cluster
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_too_dense_to_split_stops_loudly_under_every_reading() {
    for semantics in every_reading() {
        let atlas = fake(|c| {
            c.data.entries = 4_000;
            c.data.same_ms_burst = 900;
            c.semantics = semantics;
        })
        .await;
        let data = atlas.data().clone();
        let (_, densest_part) = densest_instant(&data);
        // One outcome of the densest millisecond fills a page by itself.
        let page = densest_part as u32;
        let now = data.config.now_ms;
        match export(&atlas, now - 7 * 86_400_000, now, page).await {
            Ok((_, count)) => panic!("{semantics:?}: {count} entries listed quietly"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Incomplete, "{semantics:?}: {e}"),
        }
    }
}

async fn run(
    export: &mut AccessLogExport,
) -> Result<BTreeMap<String, usize>, atlas_client::AtlasError> {
    let mut lines = BTreeMap::new();
    while let Some(entry) = export.next_entry().await? {
        *lines.entry(entry.raw_json().to_string()).or_insert(0) += 1;
    }
    Ok(lines)
}

fn union(a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    let mut all = a.clone();
    for (line, n) in b {
        *all.entry(line.clone()).or_insert(0) += n;
    }
    all
}

#[tokio::test]
async fn overlap_catches_late_entries_exactly_once() {
    let atlas = fake(|c| c.data.entries = 6_000).await;
    let data = atlas.data().clone();
    let client = service_client(&atlas);
    let now = data.config.now_ms;
    // In the busy hour fake-atlas generates, so that the late part holds entries.
    let (start, t1) = (
        now - 7 * 86_400_000,
        now - 3 * 86_400_000 - 5 * 3_600_000 + 1_800_000,
    );
    let target = || Target::Cluster("Cluster0".into());
    let late = (t1 - 5 * 60_000, t1);
    let expected = truth(&data, start, now);
    let hidden = truth(&data, late.0, late.1)
        .keys()
        .filter(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let conn = value["logLine"]
                .as_str()
                .unwrap()
                .split("\"ctx\":\"conn")
                .nth(1)
                .unwrap();
            let conn: u32 = conn.split('"').next().unwrap().parse().unwrap();
            conn.is_multiple_of(2)
        })
        .count();
    assert!(hidden > 0, "the test hides some entries");

    for overlap in [0, 10 * 60_000] {
        atlas.set_faults(fake_atlas::Faults {
            late: Some(late),
            ..fake_atlas::Faults::default()
        });
        let mut first = AccessLogExport::builder(&client, data.group_id.clone(), target())
            .start(start)
            .end(t1)
            .overlap(overlap)
            .build()
            .unwrap();
        let one = run(&mut first).await.unwrap();
        let checkpoint = first.checkpoint().unwrap();
        // The late entries arrive.
        atlas.set_faults(fake_atlas::Faults::default());
        let mut second = AccessLogExport::resume_builder(&client, &checkpoint)
            .end(now)
            .build()
            .unwrap();
        let two = run(&mut second).await.unwrap();
        let all = union(&one, &two);
        assert!(
            all.values().all(|n| *n == 1),
            "overlap {overlap}: a duplicate"
        );
        if overlap == 0 {
            // Without an overlap the late entries are missed, as documented.
            assert_eq!(all.len(), expected.len() - hidden);
        } else {
            assert!(
                all == expected,
                "overlap {overlap}: {} of {}",
                all.len(),
                expected.len()
            );
        }
    }
}

/// Runs whose overlaps change from one run to the next, windows short and empty among
/// them: a run remembers only what it read, so no run delivers an entry twice, whatever
/// overlap the checkpoint comes with and whatever overlap the run is given.
#[tokio::test]
async fn overlaps_that_change_between_runs_deliver_each_entry_once() {
    let atlas = fake(|c| c.data.entries = 6_000).await;
    let data = atlas.data().clone();
    let client = service_client(&atlas);
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let minute = 60_000;
    // (end, overlap given to the run): as cron runs would, with the overlap added, grown,
    // shrunk and dropped, at the same end twice (an empty window) and a minute apart.
    let runs = [
        (now - 3 * 86_400_000, None),
        (now - 3 * 86_400_000, Some(10 * minute)),
        (now - 3 * 86_400_000 + minute, Some(10 * minute)),
        (now - 86_400_000, Some(8 * 86_400_000)),
        (now - 86_400_000 + minute, Some(1)),
        (now - 3_600_000, Some(0)),
        (now - 3_600_000 + 4 * minute, Some(10 * minute)),
        (now, None),
    ];
    let target = || Target::Cluster("Cluster0".into());
    let mut all = BTreeMap::new();
    let mut checkpoint = None;
    for (i, (end, overlap)) in runs.into_iter().enumerate() {
        let mut builder = match &checkpoint {
            None => AccessLogExport::builder(&client, data.group_id.clone(), target()).start(start),
            Some(checkpoint) => AccessLogExport::resume_builder(&client, checkpoint),
        };
        builder = builder.end(end);
        if let Some(overlap) = overlap {
            builder = builder.overlap(overlap);
        }
        let mut export = builder.build().unwrap();
        if let (Some(checkpoint), Some(overlap)) = (&checkpoint, overlap) {
            // What the checkpoint remembers is read again, no further back than asked.
            let from = checkpoint
                .remembered_from_ms
                .max(checkpoint.through_ms - overlap);
            assert_eq!(export.progress().window.0, from, "run {i}");
        }
        let lines = run(&mut export).await.unwrap();
        all = union(&all, &lines);
        let twice = all.values().filter(|n| **n > 1).count();
        assert_eq!(
            twice, 0,
            "run {i} (end {end}, overlap {overlap:?}) delivered again"
        );
        checkpoint = Some(export.checkpoint().unwrap());
    }
    let expected = truth_of(&data, "Cluster0", start, now);
    assert!(all == expected, "{} of {}", all.len(), expected.len());
}

#[tokio::test]
async fn the_checkpoint_stays_small_after_a_burst() {
    // A burst of about 5,000 of Cluster0's entries in one millisecond, inside the overlap.
    let atlas = fake(|c| {
        c.data.entries = 20_000;
        c.data.same_ms_burst = 15_000;
    })
    .await;
    let data = atlas.data().clone();
    let client = service_client(&atlas);
    let now = data.config.now_ms;
    let burst = now - 2 * 86_400_000 + 123;
    let (start, t1) = (now - 7 * 86_400_000, burst + 60_000);
    let mut first = AccessLogExport::builder(
        &client,
        data.group_id.clone(),
        Target::Cluster("Cluster0".into()),
    )
    .start(start)
    .end(t1)
    .overlap(10 * 60_000)
    .build()
    .unwrap();
    let one = run(&mut first).await.unwrap();
    let checkpoint = first.checkpoint().unwrap();
    let remembered: usize = checkpoint.remembered.values().map(Vec::len).sum();
    assert!(remembered <= atlas_log_export::MAX_REMEMBERED);
    let size = checkpoint.to_json().len();
    assert!(size < 130_000, "{size} bytes");
    assert!(
        checkpoint.remembered_from_ms > burst,
        "the burst is past the remembered part"
    );
    let mut second = AccessLogExport::resume_builder(&client, &checkpoint)
        .end(now)
        .build()
        .unwrap();
    let two = run(&mut second).await.unwrap();
    let all = union(&one, &two);
    assert!(all.values().all(|n| *n == 1), "no duplicate");
    assert!(all == truth(&data, start, now));
}

/// An export owns what it needs and is `Send + 'static`: one per cluster, each moved into a
/// task of its own on a multi-threaded runtime, all running at once; each equals its
/// cluster's entries line for line and ends with a checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_run_side_by_side_in_spawned_tasks() {
    let atlas = fake(|c| c.data.entries = 30_000).await;
    let data = atlas.data().clone();
    let client = service_client(&atlas);
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let clusters: Vec<String> = data.cluster_names().iter().map(|c| c.to_string()).collect();
    assert!(clusters.len() >= 2, "{clusters:?}");
    let tasks: Vec<_> = clusters
        .iter()
        .map(|cluster| {
            let export = AccessLogExport::builder(
                &client,
                data.group_id.clone(),
                Target::Cluster(cluster.clone()),
            )
            .start(start)
            .end(now)
            .page_size(2_000)
            .concurrency(2)
            .build()
            .unwrap();
            tokio::spawn(async move {
                let mut export = export;
                let lines = run(&mut export).await?;
                let progress = export.progress();
                Ok::<_, atlas_client::AtlasError>((lines, progress, export.checkpoint()))
            })
        })
        .collect();
    let mut total = 0;
    for (cluster, task) in clusters.iter().zip(tasks) {
        let (lines, progress, checkpoint) = task.await.unwrap().unwrap();
        let expected = truth_of(&data, cluster, start, now);
        assert_eq!(lines, expected, "{cluster}");
        let count: usize = lines.values().sum();
        assert_eq!(progress.emitted, count as u64, "{cluster}");
        assert_eq!(progress.window, (start, now));
        assert_eq!(progress.done_fraction, 1.0);
        assert!(progress.requests >= 1);
        let checkpoint = checkpoint.expect("a finished export has a checkpoint");
        assert_eq!(checkpoint.target, Target::Cluster(cluster.clone()));
        assert_eq!(checkpoint.through_ms, now);
        total += count;
    }
    assert!(total > 2_000, "the exports had pages to list: {total}");
}

/// Dropping an export part way stops its listing: no call is made after it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_export_stops_calling() {
    let atlas = fake(|c| c.data.entries = 30_000).await;
    let data = atlas.data().clone();
    let client = service_client(&atlas);
    let now = data.config.now_ms;
    let mut export = AccessLogExport::builder(
        &client,
        data.group_id.clone(),
        Target::Cluster("Cluster0".into()),
    )
    .start(now - 7 * 86_400_000)
    .end(now)
    .page_size(500)
    .concurrency(1)
    .build()
    .unwrap();
    assert!(export.next_entry().await.unwrap().is_some());
    let before = atlas.stats().access_cluster;
    drop(export);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let settled = atlas.stats().access_cluster;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        atlas.stats().access_cluster,
        settled,
        "calls go on after the export is dropped"
    );
    assert!(settled <= before + 3, "{before} then {settled}");
}

/// Bad settings are refused when the export is built, naming the setting.
#[tokio::test]
async fn bad_settings_are_refused_naming_the_setting() {
    let atlas = fake(|c| c.data.entries = 10).await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    let cluster = || Target::Cluster("Cluster0".into());
    let built =
        |b: atlas_log_export::AccessLogExportBuilder| b.build().err().map(|e| e.to_string());
    let no_end =
        built(AccessLogExport::builder(&client, &group, cluster()).start(1_790_000_000_000));
    assert!(no_end.unwrap().starts_with("end:"));
    let no_start =
        built(AccessLogExport::builder(&client, &group, cluster()).end(1_790_000_000_000));
    assert!(no_start.unwrap().starts_with("start:"));
    let backwards = built(
        AccessLogExport::builder(&client, &group, cluster())
            .start(1_790_000_000_001)
            .end(1_790_000_000_000),
    );
    assert!(backwards.unwrap().starts_with("end:"));
}

/// Outside a Tokio runtime an export says so, rather than panicking.
#[test]
fn outside_a_tokio_runtime_the_export_says_so() {
    let client: atlas_client::Client = atlas_client::Client::builder()
        .base_url("http://127.0.0.1:9")
        .api_key("k", "s")
        .build()
        .unwrap();
    let mut export = AccessLogExport::builder(
        &client,
        "32b6e34b3d91647abb20e7b8",
        Target::Cluster("Cluster0".into()),
    )
    .start(1_790_000_000_000)
    .end(1_790_000_100_000)
    .build()
    .unwrap();
    let err = futures::executor::block_on(export.next_entry()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}

/// A workspace's audit log in consecutive runs, each resuming from the last one's
/// checkpoint, is every line of the whole window exactly once, in order, under every
/// reading of the whole-second bounds; a checkpoint of another workspace is refused.
#[tokio::test]
async fn audit_logs_run_after_run_exactly_once_under_every_reading() {
    use atlas_log_export::{AuditCheckpoint, AuditLogExport};
    for (start_inclusive, end_inclusive) in
        [(true, true), (true, false), (false, true), (false, false)]
    {
        // Several events a second, so that every bound cuts through a second's events.
        let atlas = fake(|c| {
            c.audit_log_bytes = 2_000_000_000;
            c.audit_window = fake_atlas::audit::AuditWindow {
                start_inclusive,
                end_inclusive,
            };
        })
        .await;
        let client = service_client(&atlas);
        let group = atlas.data().group_id.clone();
        let now_s = atlas.data().config.now_ms / 1000;
        let start_s = now_s - 600;
        let ends = [now_s - 400, now_s - 399, now_s - 399, now_s - 10, now_s];
        let mut delivered: Vec<String> = Vec::new();
        let mut checkpoint: Option<AuditCheckpoint> = None;
        for end_s in ends {
            let builder = match &checkpoint {
                Some(c) => AuditLogExport::resume_builder(&client, c),
                None => AuditLogExport::builder(&client, &group, "workspace0").start_s(start_s),
            };
            let mut out = Vec::new();
            let report = builder
                .end_s(end_s)
                .build()
                .unwrap()
                .write_to(&mut out)
                .await
                .unwrap();
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.lines().count() as u64, report.lines);
            delivered.extend(text.lines().map(String::from));
            // Through JSON, as a state file keeps it.
            checkpoint = Some(AuditCheckpoint::from_json(&report.checkpoint.to_json()).unwrap());
        }
        // The last run's final second is delivered now when Atlas includes it, else by the
        // run after it.
        let mut expected = atlas.audit_lines("workspace0", start_s, now_s - 1);
        if end_inclusive {
            expected.extend(atlas.audit_lines("workspace0", now_s, now_s));
        }
        assert!(expected.len() > 1_000, "{}", expected.len());
        let reading = format!("start inclusive {start_inclusive}, end inclusive {end_inclusive}");
        assert_eq!(delivered.len(), expected.len(), "{reading}");
        assert!(
            delivered == expected,
            "every line once, in order: {reading}"
        );

        // A line delivered before that the answer lacks (Atlas sends it otherwise now): the
        // run stops rather than guess what it delivered.
        let mut forged = checkpoint.clone().unwrap();
        forged.remembered.push("0123456789abcdef".into());
        let stopped = AuditLogExport::resume_builder(&client, &forged)
            .end_s(now_s)
            .build()
            .unwrap()
            .write_to(&mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(stopped.kind(), ErrorKind::Incomplete, "{stopped}");
        assert!(
            stopped.to_string().contains("missing from Atlas's answer"),
            "{stopped}"
        );
        let other = AuditLogExport::resume_builder(&client, checkpoint.as_ref().unwrap());
        let mut elsewhere = checkpoint.clone().unwrap();
        elsewhere.workspace = "workspace-eu".into();
        assert!(other.end_s(now_s).build().is_ok());
        let refused = AuditLogExport::builder(&client, &group, "workspace0")
            .processor("fraud-scorer")
            .end_s(now_s);
        assert!(refused.build().is_err(), "no start, no checkpoint");
        // Milliseconds where seconds go are refused, naming the setting.
        let ms = AuditLogExport::builder(&client, &group, "workspace0")
            .start_s((now_s - 3_600) * 1_000)
            .end_s(now_s * 1_000);
        let e = ms.build().err().unwrap().to_string();
        assert!(
            e.starts_with("start_s: ") && e.contains("not epoch seconds"),
            "{e}"
        );
        let wrong = elsewhere.check_resume(&group, "workspace0", None, now_s);
        assert!(wrong.is_err());
        // A checkpoint differing only in its stream processor says which it has.
        let every = checkpoint.as_ref().unwrap();
        assert!(every.processor.is_none());
        let wrong = every
            .check_resume(&group, "workspace0", Some("fraud-scorer"), now_s)
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("(every stream processor)"), "{wrong}");
    }
}

//! Loading a chart folder: files only `.Files` can reach are read when a template asks
//! for them, and not at all otherwise.

use std::fs;
use std::path::Path;

use deploykit_chart::{Chart, Map, ReleaseOptions, render};

/// Writes each `(path, text)` under `root`, creating folders.
fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().expect("a file has a folder")).expect("create folder");
        fs::write(path, text).expect("write file");
    }
}

/// A chart whose template reads `files/used.txt` and never `files/unused.txt`.
fn chart_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
            ("values.yaml", "greeting: hi\n"),
            (
                "templates/cm.yaml",
                "used: {{ .Files.Get \"files/used.txt\" | quote }}\n\
                 names: {{ range $path, $_ := .Files.Glob \"files/*\" }}{{ $path }} {{ end }}\n",
            ),
            ("files/used.txt", "\u{feff}from disk"),
            ("files/unused.txt", "never read"),
        ],
    );
    dir
}

#[test]
fn files_templates_never_read_may_vanish_after_loading() {
    let dir = chart_folder();
    let chart = Chart::load(dir.path()).expect("chart loads");
    fs::remove_file(dir.path().join("files/unused.txt")).expect("remove");
    let rendered = render(&chart, &Map::new(), &ReleaseOptions::default()).expect("renders");
    let text = &rendered["c/templates/cm.yaml"];
    // The byte order mark is dropped, as Helm's loader drops it.
    assert!(text.contains("used: \"from disk\""), "{text}");
    // Globbing lists the file without reading it.
    assert!(
        text.contains("names: files/unused.txt files/used.txt"),
        "{text}"
    );
}

#[test]
fn a_file_read_once_stays_read() {
    let dir = chart_folder();
    let chart = Chart::load(dir.path()).expect("chart loads");
    let first = render(&chart, &Map::new(), &ReleaseOptions::default()).expect("renders");
    fs::remove_file(dir.path().join("files/used.txt")).expect("remove");
    let second = render(&chart, &Map::new(), &ReleaseOptions::default()).expect("renders");
    assert_eq!(first, second);
}

#[test]
fn a_file_gone_before_a_template_reads_it_is_an_error_naming_it() {
    let dir = chart_folder();
    let chart = Chart::load(dir.path()).expect("chart loads");
    fs::remove_file(dir.path().join("files/used.txt")).expect("remove");
    let error = render(&chart, &Map::new(), &ReleaseOptions::default())
        .expect_err("the file is gone")
        .to_string();
    assert!(error.contains("error calling Get"), "{error}");
    assert!(error.contains("files/used.txt"), "{error}");
}

#[test]
fn templates_values_and_subcharts_are_read_with_the_chart() {
    let dir = chart_folder();
    let root = dir.path();
    write(
        root,
        &[
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
            ),
            ("charts/sub/values.yaml", "x: 1\n"),
            ("charts/sub/templates/a.yaml", "x: {{ .Values.x }}\n"),
        ],
    );
    let chart = Chart::load(root).expect("chart loads");
    for name in [
        "Chart.yaml",
        "values.yaml",
        "templates/cm.yaml",
        "charts/sub/Chart.yaml",
        "charts/sub/values.yaml",
        "charts/sub/templates/a.yaml",
    ] {
        fs::remove_file(root.join(name)).expect("remove");
    }
    let rendered = render(&chart, &Map::new(), &ReleaseOptions::default()).expect("renders");
    assert_eq!(rendered["c/charts/sub/templates/a.yaml"], "x: 1\n");
}

/// The names of a chart's non-template files, in loading order.
fn file_names(chart: &Chart) -> Vec<&str> {
    chart.files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn the_walk_sorts_names_bytewise_and_skips_ignored_folders() {
    let dir = chart_folder();
    let root = dir.path();
    write(
        root,
        &[
            (".helmignore", "skipped/\n*.bak\n"),
            ("a/inner.txt", "1"),
            ("a.txt", "2"),
            ("B.txt", "3"),
            ("skipped/never.txt", "4"),
            ("old.bak", "5"),
        ],
    );
    let chart = Chart::load(root).expect("chart loads");
    assert_eq!(
        file_names(&chart),
        [
            ".helmignore",
            "B.txt",
            "a/inner.txt",
            "a.txt",
            "files/unused.txt",
            "files/used.txt"
        ]
    );
}

#[cfg(unix)]
#[test]
fn symbolic_links_to_files_and_folders_are_followed() {
    let dir = chart_folder();
    let root = dir.path();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    write(
        elsewhere.path(),
        &[("shared/one.txt", "one"), ("extra.yaml", "kind: X\n")],
    );
    std::os::unix::fs::symlink(elsewhere.path().join("shared"), root.join("linked"))
        .expect("link a folder");
    std::os::unix::fs::symlink(
        elsewhere.path().join("extra.yaml"),
        root.join("templates/extra.yaml"),
    )
    .expect("link a file");
    let chart = Chart::load(root).expect("chart loads");
    assert!(file_names(&chart).contains(&"linked/one.txt"));
    let rendered = render(&chart, &Map::new(), &ReleaseOptions::default()).expect("renders");
    assert_eq!(rendered["c/templates/extra.yaml"], "kind: X\n");
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_a_folder_above_is_refused_naming_the_link() {
    let dir = chart_folder();
    let root = dir.path();
    std::os::unix::fs::symlink(root, root.join("files/back")).expect("link the root");
    let error = Chart::load(root).expect_err("a loop").to_string();
    assert!(error.contains("files/back"), "{error}");
    assert!(error.contains("symbolic link"), "{error}");
}

#[cfg(unix)]
#[test]
fn a_broken_symbolic_link_is_an_error_naming_it() {
    let dir = chart_folder();
    let root = dir.path();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("templates/gone.yaml"))
        .expect("link to nothing");
    let error = Chart::load(root).expect_err("a broken link").to_string();
    assert!(error.contains("templates/gone.yaml"), "{error}");
}

#[cfg(unix)]
#[test]
fn an_irregular_file_is_an_error_naming_it() {
    let dir = chart_folder();
    let socket = dir.path().join("files/socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind a socket");
    let error = Chart::load(dir.path()).expect_err("a socket").to_string();
    assert!(error.contains("irregular file"), "{error}");
    assert!(error.contains("files/socket"), "{error}");
}

#[test]
fn a_missing_chart_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere");
    let error = Chart::load(&missing).expect_err("no chart").to_string();
    assert!(error.contains("nowhere"), "{error}");
}

#[test]
fn a_path_to_an_archive_loads_the_archive() {
    let dir = chart_folder();
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    archive
        .append_dir_all("c", dir.path())
        .expect("pack the chart");
    let packed = archive
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("finish the archive");
    let tgz = dir.path().join("c-1.0.0.tgz");
    fs::write(&tgz, packed).expect("write the archive");
    let chart = Chart::load(&tgz).expect("the archive loads");
    assert_eq!(chart.name(), "c");
    assert!(file_names(&chart).contains(&"files/used.txt"));
}

//! A stranger's first program against deploykit-image, written from the crate's docs: scan
//! a build context as `docker build` sends it and tag it by content, without a Docker
//! daemon; then the inputs it gets wrong (no such folder, no Dockerfile, a Dockerfile
//! outside the context, a bad `.dockerignore` pattern), each a typed error naming the input.

use std::path::Path;

use deploykit_image::{BuildContext, BuildSpec, ContextSource, ImageError};

/// The program: what the context sends and the tag an image of it gets.
fn describe(folder: &Path) -> Result<(Vec<String>, String), ImageError> {
    let context = BuildContext::scan(folder, "Dockerfile")?;
    let paths = context.paths().map(str::to_string).collect();
    let spec = BuildSpec::new("shop", ContextSource::Folder(context));
    Ok((paths, spec.content_tag()?))
}

fn write_context(folder: &Path) {
    deploykit_testkit::write_files(
        folder,
        &[
            ("Dockerfile", "FROM scratch\nCOPY app /app\n"),
            (".dockerignore", "*.log\ntarget/\n"),
            ("app", "binary\n"),
            ("debug.log", "not sent\n"),
            ("target/big", "not sent\n"),
        ],
    );
}

#[test]
fn a_context_is_sent_without_what_dockerignore_excludes_and_tagged_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    write_context(&first);
    let (paths, tag) = describe(&first).unwrap();
    assert_eq!(paths, [".dockerignore", "Dockerfile", "app"]);
    assert_eq!(tag.len(), 12, "{tag}");

    // The same files elsewhere, written later: the same tag; a changed file: another.
    write_context(&second);
    assert_eq!(describe(&second).unwrap().1, tag);
    std::fs::write(second.join("app"), "binary v2\n").unwrap();
    assert_ne!(describe(&second).unwrap().1, tag);
    // What .dockerignore leaves out does not change the tag.
    std::fs::write(first.join("debug.log"), "more noise\n").unwrap();
    assert_eq!(describe(&first).unwrap().1, tag);
}

#[test]
fn a_missing_folder_or_dockerfile_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent");
    let error = describe(&absent).unwrap_err();
    assert!(
        matches!(&error, ImageError::Read { path, .. } if path == &absent),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("check that it exists"),
        "{error}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let error = describe(&empty).unwrap_err();
    assert!(
        matches!(&error, ImageError::Read { path, .. } if path.ends_with("empty/Dockerfile")),
        "{error:?}"
    );
}

#[test]
fn a_dockerfile_outside_the_context_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    write_context(&dir.path().join("context"));
    std::fs::write(dir.path().join("Dockerfile.other"), "FROM scratch\n").unwrap();
    let error = BuildContext::scan(
        dir.path().join("context"),
        dir.path().join("Dockerfile.other"),
    )
    .unwrap_err();
    assert!(
        matches!(&error, ImageError::DockerfileOutsideContext { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Dockerfile.other"), "{error}");
}

#[test]
fn a_bad_dockerignore_pattern_is_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_context(dir.path());
    std::fs::write(dir.path().join(".dockerignore"), "*.log\n[unclosed\n").unwrap();
    let error = describe(dir.path()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(".dockerignore:2"), "{message}");
    assert!(message.contains("[unclosed"), "{message}");
}

//! Packaging refuses binaries that cannot start in a `FROM scratch` image, checked on real
//! binaries: one compiled statically here, and the host's dynamically linked `true`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit_image::{ImageError, PackageRecipe};

/// `tests/fixtures/app.c` compiled with `cc` into `dir`, statically or not.
fn compile(dir: &Path, name: &str, static_link: bool) -> Option<PathBuf> {
    if !deploykit_testkit::require(
        "a C compiler with static libc (cc -static)",
        deploykit_testkit::on_path("cc")
            .then_some(())
            .ok_or("cc is not on PATH".into()),
    ) {
        return None;
    }
    let binary = dir.join(name);
    let mut command = std::process::Command::new("cc");
    if static_link {
        command.arg("-static");
    }
    let compiled = command
        .args(["-Os", "-o"])
        .arg(&binary)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app.c"))
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    Some(binary)
}

#[test]
fn a_static_binary_packages() {
    let dir = tempfile::tempdir().unwrap();
    let Some(binary) = compile(dir.path(), "app", true) else {
        return;
    };
    let packaged = PackageRecipe::new(&binary, "app")
        .package("app", &BTreeMap::new())
        .unwrap();
    assert_eq!(packaged.reference(), format!("app:{}", packaged.tag));
}

#[test]
fn a_dynamic_binary_is_refused_with_the_static_build_command() {
    let dir = tempfile::tempdir().unwrap();
    let Some(binary) = compile(dir.path(), "app", false) else {
        return;
    };
    for binary in [binary, PathBuf::from("/bin/true")] {
        if !binary.exists() {
            continue;
        }
        let error = PackageRecipe::new(&binary, "app")
            .package("app", &BTreeMap::new())
            .unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, ImageError::DynamicBinary { ref path, .. } if *path == binary),
            "{text}"
        );
        for expected in [
            format!("{} is dynamically linked", binary.display()),
            "RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release --target"
                .to_string(),
        ] {
            assert!(text.contains(&expected), "missing {expected:?} in {text}");
        }
    }
}

#[test]
fn a_script_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\nexec app\n").unwrap();
    let error = PackageRecipe::new(&script, "run")
        .package("run", &BTreeMap::new())
        .unwrap_err();
    assert!(matches!(error, ImageError::NotElf { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("is not a Linux executable (ELF)"),
        "{error}"
    );
}

//! What a packaged binary must be: a Linux ELF executable with no program interpreter.
//!
//! A `FROM scratch` image holds no dynamic loader and no libc, so a dynamically linked
//! binary packages fine and then fails in the container with the misleading
//! `exec /NAME: no such file or directory` (the missing file is the loader). Checking the
//! ELF program headers for `PT_INTERP` before packaging turns that into an error that says
//! how to build the binary statically.

use std::path::Path;

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, FileKind};

use crate::error::{ImageError, Result};

/// Fails unless `data` (the contents of `path`) is an ELF executable that needs no
/// program interpreter: statically linked, or static-pie.
pub(crate) fn check_static(path: &Path, data: &[u8], architecture: &str) -> Result<()> {
    let interpreter = match FileKind::parse(data) {
        Ok(FileKind::Elf64) => interpreter::<FileHeader64<Endianness>>(data),
        Ok(FileKind::Elf32) => interpreter::<FileHeader32<Endianness>>(data),
        Ok(other) => Err(format!("it is a {other:?} file")),
        Err(error) => Err(error.to_string()),
    }
    .map_err(|reason| ImageError::NotElf {
        path: path.to_path_buf(),
        reason,
        target: rust_target(architecture),
    })?;
    match interpreter {
        None => Ok(()),
        Some(interpreter) => Err(ImageError::DynamicBinary {
            path: path.to_path_buf(),
            interpreter,
            target: rust_target(architecture),
        }),
    }
}

/// The `PT_INTERP` path of an ELF file, if it has one.
fn interpreter<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
) -> std::result::Result<Option<String>, String> {
    let header = Elf::parse(data).map_err(|error| error.to_string())?;
    let endian = header.endian().map_err(|error| error.to_string())?;
    let segments = header
        .program_headers(endian, data)
        .map_err(|error| error.to_string())?;
    for segment in segments {
        if let Some(path) = segment
            .interpreter(endian, data)
            .map_err(|error| error.to_string())?
        {
            return Ok(Some(String::from_utf8_lossy(path).into_owned()));
        }
    }
    Ok(None)
}

/// The Rust target that builds Linux binaries for an image architecture in Go's names.
fn rust_target(go_arch: &str) -> String {
    let arch = match go_arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i686",
        "ppc64le" => "powerpc64le",
        other => other,
    };
    format!("{arch}-unknown-linux-gnu")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The smallest ELF64 header object accepts: an executable with no program headers,
    /// which is what a static binary looks like to this check.
    pub(crate) fn minimal_static_elf() -> Vec<u8> {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little endian
        elf[6] = 1; // version
        elf[16] = 2; // ET_EXEC
        elf[18] = 62; // x86-64
        elf[20] = 1; // version
        elf[52] = 64; // header size
        elf[54] = 56; // program header entry size
        elf
    }

    fn host_binary(name: &str) -> Option<Vec<u8>> {
        ["/bin", "/usr/bin"]
            .iter()
            .find_map(|dir| std::fs::read(Path::new(dir).join(name)).ok())
    }

    #[test]
    fn a_dynamic_binary_is_refused_with_the_static_build_command() {
        let Some(data) = host_binary("true") else {
            return; // no /bin/true on this system: nothing to check against
        };
        let error = check_static(Path::new("/bin/true"), &data, "amd64").unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, ImageError::DynamicBinary { interpreter, .. } if interpreter.contains("ld")),
            "{text}"
        );
        for expected in [
            "/bin/true is dynamically linked",
            "RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release --target x86_64-unknown-linux-gnu",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }
    }

    #[test]
    fn a_static_executable_passes() {
        assert!(check_static(Path::new("app"), &minimal_static_elf(), "amd64").is_ok());
    }

    #[test]
    fn a_file_that_is_not_elf_is_refused() {
        for data in [&b"#!/bin/sh\necho hi\n"[..], b"", b"\x7fELF"] {
            let error = check_static(Path::new("run.sh"), data, "arm64").unwrap_err();
            let text = error.to_string();
            assert!(matches!(error, ImageError::NotElf { .. }), "{text}");
            assert!(
                text.starts_with("run.sh is not a Linux executable (ELF)")
                    && text.contains("aarch64-unknown-linux-gnu"),
                "{text}"
            );
        }
    }
}

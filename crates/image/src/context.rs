//! Build contexts: a folder walked with its `.dockerignore`, sent as a deterministic tar.
//!
//! Entries are sorted, owned by 0:0, dated at the Unix epoch and carry normalized modes
//! (0755 for folders and executables, 0644 for other files), so the same content always
//! gives the same bytes and the same [`BuildContext::digest`]. File contents are read only
//! while the tar is written: a large context is streamed, never held in memory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

use crate::error::{ImageError, Result};
use crate::ignore::DockerIgnore;

/// A folder to send to the builder, with its `.dockerignore` applied.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    dockerfile: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    path: String,
    kind: EntryKind,
}

#[derive(Debug, Clone)]
enum EntryKind {
    Dir,
    File { executable: bool },
    Symlink { target: PathBuf },
}

impl BuildContext {
    /// Walks `root`, leaving out what its `.dockerignore` excludes; `dockerfile` (a path
    /// inside `root`, relative to it or absolute) and `.dockerignore` are always sent.
    ///
    /// Blocking (it reads the folder): in async code call it inside
    /// `tokio::task::spawn_blocking`. A folder or Dockerfile that cannot be read is
    /// [`ImageError::Read`] naming it; a Dockerfile outside `root`,
    /// [`ImageError::DockerfileOutsideContext`].
    pub fn scan(root: impl AsRef<Path>, dockerfile: impl AsRef<Path>) -> Result<Self> {
        let (root, dockerfile) = (root.as_ref(), dockerfile.as_ref());
        let read_error = |path: &Path, source: io::Error| ImageError::Read {
            path: path.to_path_buf(),
            source,
        };
        let root = root
            .canonicalize()
            .map_err(|source| read_error(root, source))?;
        let dockerfile_abs = if dockerfile.is_absolute() {
            dockerfile.to_path_buf()
        } else {
            root.join(dockerfile)
        };
        let dockerfile_abs = dockerfile_abs
            .canonicalize()
            .map_err(|source| read_error(&dockerfile_abs, source))?;
        let dockerfile_rel = dockerfile_abs.strip_prefix(&root).map_err(|_| {
            ImageError::DockerfileOutsideContext {
                dockerfile: dockerfile_abs.clone(),
                context: root.clone(),
            }
        })?;
        let dockerfile = slash_path(dockerfile_rel);

        let mut ignore = DockerIgnore::load(&root)?;
        ignore.keep(".dockerignore");
        ignore.keep(&dockerfile);

        let mut entries = Vec::new();
        let mut walk = walkdir::WalkDir::new(&root)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        while let Some(item) = walk.next() {
            let item = item.map_err(|error| {
                let path = error.path().unwrap_or(&root).to_path_buf();
                let source = error
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("filesystem loop"));
                read_error(&path, source)
            })?;
            let rel = slash_path(item.path().strip_prefix(&root).unwrap_or(item.path()));
            let file_type = item.file_type();
            if ignore.is_excluded(&rel) {
                if file_type.is_dir() && !ignore.may_reinclude_below(&rel) {
                    walk.skip_current_dir();
                }
                continue;
            }
            let kind = if file_type.is_dir() {
                EntryKind::Dir
            } else if file_type.is_symlink() {
                let target = std::fs::read_link(item.path())
                    .map_err(|source| read_error(item.path(), source))?;
                EntryKind::Symlink { target }
            } else if file_type.is_file() {
                let metadata = item
                    .metadata()
                    .map_err(|error| read_error(item.path(), io::Error::other(error)))?;
                EntryKind::File {
                    executable: is_executable(&metadata),
                }
            } else {
                // Sockets, fifos and devices are not sent, as with `docker build`.
                continue;
            };
            entries.push(Entry { path: rel, kind });
        }
        Ok(Self {
            root,
            dockerfile,
            entries,
        })
    }

    /// The context folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The Dockerfile's path inside the context, `/`-separated.
    pub fn dockerfile(&self) -> &str {
        &self.dockerfile
    }

    /// Every path sent (folders too), `/`-separated, in tar order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| entry.path.as_str())
    }

    /// The sha256 of the context's tar (`sha256:<hex>`): equal contexts, equal digests.
    /// Blocking: it reads every file sent ([`crate::Engine::build`] calls it on a
    /// blocking thread).
    pub fn digest(&self) -> Result<String> {
        let mut hasher = Sha256::new();
        self.write_tar(&mut hasher)?;
        Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
    }

    /// Writes the context as a tar to `out`, reading each file as it goes.
    pub fn write_tar<W: Write>(&self, out: W) -> Result<()> {
        let mut builder = tar::Builder::new(out);
        for entry in &self.entries {
            let source = self.root.join(&entry.path);
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            let written = match &entry.kind {
                EntryKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{}/", entry.path), io::empty())
                }
                EntryKind::Symlink { target } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    builder.append_link(&mut header, &entry.path, target)
                }
                EntryKind::File { executable } => {
                    let file = File::open(&source).map_err(|source_error| ImageError::Read {
                        path: source.clone(),
                        source: source_error,
                    })?;
                    let size = file
                        .metadata()
                        .map_err(|source_error| ImageError::Read {
                            path: source.clone(),
                            source: source_error,
                        })?
                        .len();
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(if *executable { 0o755 } else { 0o644 });
                    header.set_size(size);
                    let mut reader = ExactReader {
                        inner: file.take(size),
                        remaining: size,
                    };
                    builder.append_data(&mut header, &entry.path, &mut reader)
                }
            };
            written.map_err(|source_error| ImageError::Read {
                path: source.clone(),
                source: source_error,
            })?;
        }
        builder
            .into_inner()
            .and_then(|mut out| out.flush())
            .map_err(|source| ImageError::Read {
                path: self.root.clone(),
                source,
            })
    }

    /// The tar as a stream of chunks, written on a blocking thread as the receiver reads
    /// (needs a Tokio runtime).
    pub fn tar_stream(&self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let (sender, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
        let context = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = ChunkWriter {
                sender: sender.clone(),
                buffer: Vec::with_capacity(CHUNK),
            };
            if let Err(error) = context.write_tar(&mut writer) {
                let _ = sender.blocking_send(Err(io::Error::other(error.to_string())));
            }
        });
        futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        })
    }
}

const CHUNK: usize = 256 * 1024;

/// Sends full chunks to the channel; a closed channel (the daemon hung up) stops the writer.
struct ChunkWriter {
    sender: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Fails when a file shrank between its size being read and its content being copied, so a
/// tar is never silently corrupted.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if read == 0 && self.remaining > 0 && !buffer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file changed while it was being sent: build again",
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_metadata: &std::fs::Metadata) -> bool {
    false
}

/// sha256 of some bytes as `sha256:<hex>`.
pub(crate) fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\nCOPY . /\n");
        write(
            dir.path(),
            ".dockerignore",
            "target\n*.log\n!keep.log\nDockerfile\n",
        );
        write(dir.path(), "src/main.rs", "fn main() {}\n");
        write(dir.path(), "target/debug/app", "binary");
        write(dir.path(), "a.log", "noise");
        write(dir.path(), "keep.log", "kept");
        dir
    }

    #[test]
    fn scan_applies_dockerignore_and_always_sends_build_files() {
        let dir = fixture();
        let context = BuildContext::scan(dir.path(), Path::new("Dockerfile")).unwrap();
        let paths: Vec<&str> = context.paths().collect();
        assert_eq!(
            paths,
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "src",
                "src/main.rs"
            ]
        );
    }

    #[test]
    fn digest_is_stable_and_ignores_excluded_changes() {
        let dir = fixture();
        let scan = || BuildContext::scan(dir.path(), Path::new("Dockerfile")).unwrap();
        let first = scan().digest().unwrap();
        assert!(first.starts_with("sha256:") && first.len() == 71, "{first}");
        assert_eq!(scan().digest().unwrap(), first);
        write(dir.path(), "a.log", "different noise");
        write(dir.path(), "target/debug/new", "x");
        assert_eq!(scan().digest().unwrap(), first);
        write(dir.path(), "src/main.rs", "fn main() { println!(); }\n");
        assert_ne!(scan().digest().unwrap(), first);
    }

    #[test]
    fn tar_is_normalized() {
        let dir = fixture();
        let context = BuildContext::scan(dir.path(), Path::new("Dockerfile")).unwrap();
        let mut bytes = Vec::new();
        context.write_tar(&mut bytes).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!(header.uid().unwrap(), 0);
            let mode = header.mode().unwrap();
            assert!(mode == 0o644 || mode == 0o755, "{mode:o}");
        }
    }

    #[test]
    fn dockerfile_outside_the_context_is_refused() {
        let outer = tempfile::tempdir().unwrap();
        write(outer.path(), "Dockerfile", "FROM scratch\n");
        write(outer.path(), "ctx/file", "x");
        let error = BuildContext::scan(outer.path().join("ctx"), outer.path().join("Dockerfile"))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not inside the build context"),
            "{error}"
        );
    }

    #[test]
    fn missing_context_names_the_folder() {
        let error =
            BuildContext::scan(Path::new("/no/such/folder"), Path::new("Dockerfile")).unwrap_err();
        assert!(error.to_string().contains("/no/such/folder"), "{error}");
    }
}

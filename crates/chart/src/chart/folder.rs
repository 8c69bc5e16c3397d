//! A chart folder open for walking: its entries listed and sorted, its files opened.
//!
//! On Linux a folder is held open by descriptor (rustix): its files and subfolders are
//! opened by name relative to it, so the kernel resolves one path component rather
//! than the whole path, and its listing comes from `getdents64` into the walk's buffer
//! (entry types included) with no allocation per entry. Elsewhere std's paths and
//! `read_dir` do the same work.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;

pub(super) use sys::{Folder, fill};

/// What an entry is, before a symbolic link is followed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link.
    Link,
    /// Anything else (device, pipe, socket).
    Other,
}

impl Kind {
    /// The kind std's file type names.
    pub(super) fn of(file_type: std::fs::FileType) -> Kind {
        if file_type.is_file() {
            Kind::File
        } else if file_type.is_dir() {
            Kind::Folder
        } else if file_type.is_symlink() {
            Kind::Link
        } else {
            Kind::Other
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys {
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    use rustix::fd::OwnedFd;
    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir, openat, statat};
    use rustix::io::Errno;

    use super::{File, Kind, OsStr, Path, io};

    /// A folder open by descriptor, with its path (for messages and files read later).
    pub(in crate::chart) struct Folder {
        fd: OwnedFd,
        path: PathBuf,
    }

    /// A folder's entries (`.` and `..` left out), sorted bytewise by name: the names
    /// back to back in one allocation.
    pub(in crate::chart) struct Listing {
        names: Vec<u8>,
        entries: Vec<(usize, usize, Kind)>,
    }

    /// Flags every folder is opened with.
    const FOLDER: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC);

    /// Room the listing buffer gets at least (`getdents64` needs room for one entry).
    const LISTING_ROOM: usize = 8 << 10;

    impl Folder {
        /// Opens the folder at `path` (an error of kind `NotADirectory` when it is not one).
        pub(in crate::chart) fn open(path: &Path) -> io::Result<Folder> {
            let fd = openat(CWD, path, FOLDER, Mode::empty())?;
            Ok(Folder {
                fd,
                path: path.to_path_buf(),
            })
        }

        /// The folder's path.
        pub(in crate::chart) fn path(&self) -> &Path {
            &self.path
        }

        /// Opens the subfolder `name` (symbolic links followed).
        pub(in crate::chart) fn child(&self, name: &OsStr) -> io::Result<Folder> {
            let fd = openat(&self.fd, name, FOLDER, Mode::empty())?;
            Ok(Folder {
                fd,
                path: self.path.join(name),
            })
        }

        /// Opens the file `name` for reading (symbolic links followed).
        pub(in crate::chart) fn open_file(&self, name: &OsStr) -> io::Result<File> {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            Ok(File::from(openat(&self.fd, name, flags, Mode::empty())?))
        }

        /// The folder's entries, listed through `scratch` (whose contents are lost).
        pub(in crate::chart) fn list(&self, scratch: &mut Vec<u8>) -> io::Result<Listing> {
            scratch.clear();
            scratch.reserve(LISTING_ROOM);
            let mut listing = Listing {
                names: Vec::with_capacity(512),
                entries: Vec::with_capacity(16),
            };
            let mut raw = RawDir::new(&self.fd, scratch.spare_capacity_mut());
            while let Some(entry) = raw.next() {
                let entry = entry?;
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let file_type = match entry.file_type() {
                    // The file system did not say: ask it, as std's `DirEntry` does.
                    FileType::Unknown => {
                        let stat = statat(&self.fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)?;
                        FileType::from_raw_mode(stat.st_mode)
                    }
                    file_type => file_type,
                };
                let start = listing.names.len();
                listing.names.extend_from_slice(name);
                listing
                    .entries
                    .push((start, listing.names.len(), kind_of(file_type)));
            }
            let names = &listing.names;
            listing
                .entries
                .sort_unstable_by(|a, b| names[a.0..a.1].cmp(&names[b.0..b.1]));
            Ok(listing)
        }
    }

    impl Listing {
        /// The entries in order: name and kind.
        pub(in crate::chart) fn iter(&self) -> impl Iterator<Item = (&OsStr, Kind)> {
            self.entries
                .iter()
                .map(|&(start, end, kind)| (OsStr::from_bytes(&self.names[start..end]), kind))
        }
    }

    /// The kind a listing's type names.
    fn kind_of(file_type: FileType) -> Kind {
        match file_type {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Folder,
            FileType::Symlink => Kind::Link,
            _ => Kind::Other,
        }
    }

    /// Reads `file` into `buffer`'s spare capacity until the file ends (true) or the
    /// capacity is used up (false), with no zeroing of the room first.
    pub(in crate::chart) fn fill(file: &File, buffer: &mut Vec<u8>) -> io::Result<bool> {
        while buffer.len() < buffer.capacity() {
            match rustix::io::read(file, rustix::buffer::spare_capacity(buffer)) {
                Ok(0) => return Ok(true),
                Ok(_) | Err(Errno::INTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(false)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod sys {
    use std::ffi::OsString;
    use std::io::Read;
    use std::path::PathBuf;

    use super::{File, Kind, OsStr, Path, io};

    /// A folder, by path.
    pub(in crate::chart) struct Folder {
        path: PathBuf,
    }

    /// A folder's entries, sorted bytewise by name.
    pub(in crate::chart) struct Listing {
        entries: Vec<(OsString, Kind)>,
    }

    impl Folder {
        /// The folder at `path` (an error of kind `NotADirectory` when it is not one).
        pub(in crate::chart) fn open(path: &Path) -> io::Result<Folder> {
            if !std::fs::metadata(path)?.is_dir() {
                return Err(io::ErrorKind::NotADirectory.into());
            }
            Ok(Folder {
                path: path.to_path_buf(),
            })
        }

        /// The folder's path.
        pub(in crate::chart) fn path(&self) -> &Path {
            &self.path
        }

        /// The subfolder `name`.
        pub(in crate::chart) fn child(&self, name: &OsStr) -> io::Result<Folder> {
            Ok(Folder {
                path: self.path.join(name),
            })
        }

        /// Opens the file `name` for reading.
        pub(in crate::chart) fn open_file(&self, name: &OsStr) -> io::Result<File> {
            File::open(self.path.join(name))
        }

        /// The folder's entries (`scratch` is not needed here).
        pub(in crate::chart) fn list(&self, _scratch: &mut Vec<u8>) -> io::Result<Listing> {
            let mut entries = std::fs::read_dir(&self.path)?
                .map(|entry| entry.and_then(|e| Ok((e.file_name(), Kind::of(e.file_type()?)))))
                .collect::<io::Result<Vec<_>>>()?;
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Ok(Listing { entries })
        }
    }

    impl Listing {
        /// The entries in order: name and kind.
        pub(in crate::chart) fn iter(&self) -> impl Iterator<Item = (&OsStr, Kind)> {
            self.entries
                .iter()
                .map(|(name, kind)| (name.as_os_str(), *kind))
        }
    }

    /// Reads `file` into `buffer`'s spare capacity until the file ends (true) or the
    /// capacity is used up (false).
    pub(in crate::chart) fn fill(file: &File, buffer: &mut Vec<u8>) -> io::Result<bool> {
        let room = (buffer.capacity() - buffer.len()) as u64;
        let read = file.take(room).read_to_end(buffer)? as u64;
        Ok(read < room)
    }
}

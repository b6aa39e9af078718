//! Linux: the granularity a file or mapping needs, from the persistence domain of the NVDIMM
//! region behind it (what libpmem2 reads to decide between byte and cache-line granularity).
//!
//! The kernel exposes each persistent-memory region under `/sys/bus/nd/devices/regionN/`, and
//! its `persistence_domain` file says how far a store must travel to survive power loss:
//! `cpu_cache` (the platform flushes CPU caches on power loss: eADR, byte granularity) or
//! `memory_controller` (ADR: write the lines back, cache-line granularity). The region that
//! backs a file is found from the device the file lives on: `/sys/dev/block/MAJOR:MINOR` (a
//! filesystem on `/dev/pmemN`) or `/sys/dev/char/MAJOR:MINOR` (device DAX, `/dev/daxN.M`) links
//! to the device's directory, which sits below its region's directory.
//!
//! A file that no region backs (an ordinary disk, tmpfs) gets `None`: it is not persistent
//! memory as far as the kernel knows, so persistence needs the page cache written back, which
//! is [`PageFlusher`](crate::PageFlusher) with an `msync` hook.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::selection::Granularity;

/// Where sysfs is mounted.
const SYSFS: &str = "/sys";

/// The granularity `file` needs: `Some(Granularity::Byte)` when the region behind it reports
/// `cpu_cache`, `Some(Granularity::CacheLine)` for `memory_controller`, and `None` when no
/// persistent-memory region backs it (or the region names no persistence domain): then only
/// the page cache's write-back (`msync`) makes it durable.
///
/// A regular file is looked up by the device its filesystem lives on; a device node
/// (`/dev/pmem0`, `/dev/dax0.0`) by the device itself.
///
/// (Compiled, not run: it needs a file on persistent memory.)
///
/// ```no_run
/// use pmem_flush::{Config, Flusher, Granularity};
/// let file = std::fs::File::open("/mnt/pmem/log")?;
/// match pmem_flush::linux::granularity_of_file(&file)? {
///     Some(granularity) => {
///         let flusher = Flusher::new(Config::new().with_granularity(granularity));
///         # let _ = flusher;
///     }
///     None => { /* not persistent memory: msync it (PageFlusher) */ }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn granularity_of_file(file: &File) -> io::Result<Option<Granularity>> {
    granularity_of_metadata(Path::new(SYSFS), &file.metadata()?)
}

/// The granularity the mapping that contains `addr` needs, found through `/proc/self/maps`:
/// as [`granularity_of_file`] for the file mapped there. `None` for an anonymous mapping or a
/// file that no persistent-memory region backs; an error when no mapping contains `addr`.
///
/// ```
/// let data = [0u8; 64];
/// // A stack address: anonymous memory, never persistent.
/// assert_eq!(pmem_flush::linux::granularity_of_mapping(data.as_ptr())?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn granularity_of_mapping(addr: *const u8) -> io::Result<Option<Granularity>> {
    let maps = fs::read_to_string("/proc/self/maps")?;
    let mapping = maps
        .lines()
        .filter_map(parse_maps_line)
        .find(|m| m.start <= addr.addr() && addr.addr() < m.end)
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no mapping contains the address")
        })?;
    match mapping.path {
        // Anonymous memory, the heap, the stack, [vdso] and friends.
        None => Ok(None),
        Some(path) => granularity_of_metadata(Path::new(SYSFS), &fs::metadata(path)?),
    }
}

/// One line of `/proc/self/maps`: the address range and the mapped file, if any.
#[derive(Debug, PartialEq, Eq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    path: Option<&'a str>,
}

/// Parses `start-end perms offset dev inode [path]`; `None` for a line of another shape.
fn parse_maps_line(line: &str) -> Option<Mapping<'_>> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let (_perms, _offset, _dev) = (fields.next()?, fields.next()?, fields.next()?);
    let inode = fields.next()?;
    let path = fields.next().map(str::trim).filter(|p| p.starts_with('/'));
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        path: if inode == "0" { None } else { path },
    })
}

/// The granularity for a file with this metadata, with sysfs at `sysfs`.
fn granularity_of_metadata(sysfs: &Path, meta: &fs::Metadata) -> io::Result<Option<Granularity>> {
    let kind = meta.file_type();
    let (class, dev) = if kind.is_char_device() {
        ("char", meta.rdev())
    } else if kind.is_block_device() {
        ("block", meta.rdev())
    } else {
        ("block", meta.dev())
    };
    granularity_of_device(sysfs, class, dev)
}

/// The major and minor numbers of a `dev_t`, in glibc's encoding (`gnu_dev_major`,
/// `gnu_dev_minor`): 12 + 20 bits of major, 20 + 12 bits of minor.
const fn major_minor(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff);
    (major, minor)
}

/// The granularity for device `dev` of `class` ("block" or "char"): the persistence domain of
/// the first directory at or above the device's sysfs directory that has one (its region).
fn granularity_of_device(sysfs: &Path, class: &str, dev: u64) -> io::Result<Option<Granularity>> {
    let (major, minor) = major_minor(dev);
    let link = sysfs
        .join("dev")
        .join(class)
        .join(std::format!("{major}:{minor}"));
    let device = match fs::canonicalize(&link) {
        Ok(path) => path,
        // No such device in sysfs (a filesystem without a backing device, such as tmpfs).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let root = fs::canonicalize(sysfs)?;
    let mut dir: Option<PathBuf> = Some(device);
    while let Some(d) = dir {
        if !d.starts_with(&root) {
            break;
        }
        match fs::read_to_string(d.join("persistence_domain")) {
            Ok(domain) => return Ok(parse_domain(&domain)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(None)
}

/// `cpu_cache` is byte granularity, `memory_controller` cache-line granularity; anything else
/// (the kernel writes an empty line when the region has neither) is no persistence domain.
fn parse_domain(domain: &str) -> Option<Granularity> {
    match domain.trim() {
        "cpu_cache" => Some(Granularity::Byte),
        "memory_controller" => Some(Granularity::CacheLine),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::vec::Vec;

    /// A fake sysfs tree in a fresh temporary directory, removed on drop.
    struct FakeSysfs(PathBuf);

    impl FakeSysfs {
        /// Two regions on one bus: region0 (`domain0`) with namespace0.0 as block device
        /// `pmem0` 259:0 and its partition `pmem0p1` 259:1; region1 (`domain1`) with device DAX
        /// `dax1.0` as char device 252:5. Plus a block device 8:0 on no bus (an ordinary disk).
        fn new(domain0: &str, domain1: &str) -> FakeSysfs {
            static N: AtomicUsize = AtomicUsize::new(0);
            let root = std::env::temp_dir().join(std::format!(
                "pmem-flush-sysfs-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let bus = root.join("devices/platform/ACPI0012:00/ndbus0");
            let r0 = bus.join("region0");
            let r1 = bus.join("region1");
            let pmem0 = r0.join("namespace0.0/block/pmem0");
            let dax = r1.join("dax1.0/dax/dax1.0");
            let disk = root.join("devices/pci0000:00/0000:00:05.0/block/sda");
            for d in [
                &pmem0.join("pmem0p1"),
                &dax,
                &disk,
                &root.join("dev/block"),
                &root.join("dev/char"),
            ] {
                fs::create_dir_all(d).unwrap();
            }
            fs::write(r0.join("persistence_domain"), std::format!("{domain0}\n")).unwrap();
            fs::write(r1.join("persistence_domain"), std::format!("{domain1}\n")).unwrap();
            let links: [(&str, &Path); 4] = [
                ("dev/block/259:0", &pmem0),
                ("dev/block/259:1", &pmem0.join("pmem0p1")),
                ("dev/char/252:5", &dax),
                ("dev/block/8:0", &disk),
            ];
            for (link, target) in links {
                symlink(target, root.join(link)).unwrap();
            }
            FakeSysfs(root)
        }
    }

    impl Drop for FakeSysfs {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A `dev_t` in glibc's encoding.
    const fn makedev(major: u64, minor: u64) -> u64 {
        ((major & 0xffff_f000) << 32)
            | ((major & 0x0fff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0x00ff)
    }

    #[test]
    fn dev_t_decoding_round_trips() {
        for (major, minor) in [
            (0, 0),
            (8, 0),
            (259, 1),
            (252, 5),
            (4095, 255),
            (4096, 256),
            (0xfffff, 0xfffff),
        ] {
            assert_eq!(major_minor(makedev(major, minor)), (major, minor));
        }
    }

    #[test]
    fn regions_give_their_granularity_to_the_devices_below_them() {
        let eadr = FakeSysfs::new("cpu_cache", "memory_controller");
        let at = |class, major, minor| {
            granularity_of_device(&eadr.0, class, makedev(major, minor)).unwrap()
        };
        assert_eq!(
            at("block", 259, 0),
            Some(Granularity::Byte),
            "pmem0 in the eADR region"
        );
        assert_eq!(
            at("block", 259, 1),
            Some(Granularity::Byte),
            "a partition of pmem0"
        );
        assert_eq!(
            at("char", 252, 5),
            Some(Granularity::CacheLine),
            "device DAX in an ADR region"
        );
        assert_eq!(at("block", 8, 0), None, "an ordinary disk");
        assert_eq!(at("block", 7, 7), None, "a device sysfs does not know");
        assert_eq!(
            at("char", 259, 0),
            None,
            "the right numbers in the wrong class"
        );

        let neither = FakeSysfs::new("", "memory_controller");
        assert_eq!(
            granularity_of_device(&neither.0, "block", makedev(259, 0)).unwrap(),
            None,
            "a region with no persistence domain"
        );
    }

    #[test]
    fn files_are_looked_up_by_the_device_their_filesystem_lives_on() {
        // This file's own filesystem is no NVDIMM in the fake tree (and the tree knows no such
        // device number), so: None. A file's metadata reaches `granularity_of_device` with
        // `dev`, not `rdev`.
        let fake = FakeSysfs::new("cpu_cache", "cpu_cache");
        let here = fs::metadata(std::env::current_exe().unwrap()).unwrap();
        let (major, minor) = major_minor(here.dev());
        let link = fake
            .0
            .join("dev/block")
            .join(std::format!("{major}:{minor}"));
        assert_eq!(granularity_of_metadata(&fake.0, &here).unwrap(), None);
        // Now make the fake tree say that this filesystem's device is pmem0.
        symlink(
            fake.0
                .join("devices/platform/ACPI0012:00/ndbus0/region0/namespace0.0/block/pmem0"),
            &link,
        )
        .unwrap();
        assert_eq!(
            granularity_of_metadata(&fake.0, &here).unwrap(),
            Some(Granularity::Byte)
        );
    }

    #[test]
    fn maps_lines_parse() {
        let lines = [
            "7f1c2a000000-7f1c2a200000 rw-s 00000000 103:02 1835011                    /mnt/pmem/pool",
            "55d4c3a00000-55d4c3a21000 rw-p 00000000 00:00 0                          [heap]",
            "7ffd1b1f0000-7ffd1b211000 rw-p 00000000 00:00 0",
            "7f1c29e00000-7f1c29e28000 r--p 00000000 fd:01 1337 /usr/lib/x86_64-linux-gnu/libc.so.6",
        ];
        let parsed: Vec<Mapping<'_>> = lines.iter().filter_map(|l| parse_maps_line(l)).collect();
        assert_eq!(parsed.len(), 4);
        assert_eq!(
            parsed[0],
            Mapping {
                start: 0x7f1c2a000000,
                end: 0x7f1c2a200000,
                path: Some("/mnt/pmem/pool")
            }
        );
        assert_eq!(parsed[1].path, None);
        assert_eq!(parsed[2].path, None);
        assert_eq!(parsed[3].path, Some("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert_eq!(parse_maps_line("garbage"), None);
    }

    #[test]
    fn this_process_has_no_persistent_memory() {
        // On a machine without NVDIMMs: the stack, the heap and this executable's mapping.
        let on_stack = [0u8; 16];
        assert_eq!(granularity_of_mapping(on_stack.as_ptr()).unwrap(), None);
        let code = this_process_has_no_persistent_memory as fn() as *const u8;
        let has_regions = Path::new("/sys/bus/nd/devices").exists();
        if !has_regions {
            assert_eq!(granularity_of_mapping(code).unwrap(), None);
        }
        let unmapped = core::ptr::without_provenance::<u8>(8);
        assert!(granularity_of_mapping(unmapped).is_err());
    }
}

//! The line walker every write-back loop is built on.

/// How many lines of `1 << shift` bytes overlap `[addr, addr + len)`, for `len > 0`.
///
/// Computed without forming `addr + len` (which wraps for a range that ends at the top of the
/// address space): ceil((offset + len) / line) split into whole lines of `len` plus the lines the
/// remainders add. A range that claims to run past the top of the address space is cut at the
/// top: the count never reaches a line that wraps around to address 0.
#[cfg(test)]
pub(crate) const fn line_count(addr: usize, len: usize, shift: u32) -> usize {
    // Wrapping forms throughout: none of these can overflow for shift in 4..=11, and the
    // wrapping forms keep every build free of overflow-check panics on the flush path.
    let mask = 1usize.wrapping_shl(shift).wrapping_sub(1);
    let offset = addr & mask;
    let count = (len.wrapping_shr(shift)).wrapping_add(
        offset
            .wrapping_add(len & mask)
            .wrapping_add(mask)
            .wrapping_shr(shift),
    );
    // Lines from the first one up to and including the last line of the address space.
    let to_top = (!(addr & !mask)).wrapping_shr(shift).wrapping_add(1);
    if count < to_top { count } else { to_top }
}

/// Calls `each` with the address of every line of `1 << shift` bytes that overlaps
/// `[addr, addr + len)`, lowest first. `len == 0` calls nothing and does not touch `addr`.
///
/// Walks from the first line to the line of the last byte, `addr + (len - 1)`, which cannot
/// overflow for a real range, so a range ending at the top of the address space stops there.
/// A range that claims to run past the top is cut at the top.
///
/// `shift` must be in `4..=11` (the crate keeps line sizes within 16..=2048 bytes).
#[inline(always)]
pub(crate) fn for_each_line(
    addr: *const u8,
    len: usize,
    shift: u32,
    mut each: impl FnMut(*const u8),
) {
    if len == 0 {
        return;
    }
    let line = 1usize.wrapping_shl(shift);
    let mask = line.wrapping_sub(1);
    let start = addr.addr();
    let mut last_byte = start.wrapping_add(len.wrapping_sub(1));
    if last_byte < start {
        last_byte = usize::MAX;
    }
    let last_line = last_byte & !mask;
    let mut p = addr.wrapping_sub(start & mask);
    loop {
        each(p);
        if p.addr() == last_line {
            break;
        }
        p = p.wrapping_add(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Lines overlapping the range, by the definition: line L overlaps when
    /// L * size < addr + len and (L + 1) * size > addr, in 128-bit arithmetic.
    fn expected(addr: usize, len: usize, shift: u32) -> Vec<usize> {
        match overlapping(addr, len, shift) {
            Some((first, last)) => (first..=last).map(|l| (l << shift) as usize).collect(),
            None => Vec::new(),
        }
    }

    /// First and last overlapping line numbers; a range past the top is cut at the top.
    fn overlapping(addr: usize, len: usize, shift: u32) -> Option<(u128, u128)> {
        if len == 0 {
            return None;
        }
        let end = (addr as u128 + len as u128).min(1u128 << usize::BITS);
        Some((addr as u128 >> shift, (end - 1) >> shift))
    }

    fn expected_count(addr: usize, len: usize, shift: u32) -> usize {
        overlapping(addr, len, shift).map_or(0, |(first, last)| (last - first + 1) as usize)
    }

    fn visited(addr: usize, len: usize, shift: u32) -> Vec<usize> {
        let mut seen = Vec::new();
        for_each_line(core::ptr::without_provenance(addr), len, shift, |p| {
            seen.push(p.addr())
        });
        seen
    }

    #[test]
    fn visits_exactly_the_overlapping_lines() {
        for shift in [6, 7] {
            for base in [0x1000usize, 0x7fff_0000] {
                for offset in 0..128 {
                    for len in 0..300 {
                        let addr = base + offset;
                        assert_eq!(
                            visited(addr, len, shift),
                            expected(addr, len, shift),
                            "addr {addr:#x} len {len} line {}",
                            1 << shift
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_line_size_from_16_to_2048() {
        for shift in 4..=11 {
            for (addr, len) in [(0usize, 1usize), (1, 4096), (4095, 2), (12345, 54321)] {
                assert_eq!(visited(addr, len, shift), expected(addr, len, shift));
            }
        }
    }

    #[test]
    fn zero_length_visits_nothing_even_when_unaligned() {
        for addr in [0, 1, 63, 64, 65, usize::MAX] {
            assert!(visited(addr, 0, 6).is_empty());
        }
    }

    #[test]
    fn range_ending_at_the_top_of_the_address_space() {
        // [MAX - 99, MAX] is 100 bytes ending exactly at the top: two lines, no wrap, no stop.
        let addr = usize::MAX - 99;
        let seen = visited(addr, 100, 6);
        assert_eq!(seen, expected(addr, 100, 6));
        assert_eq!(seen.last(), Some(&(usize::MAX & !63)));
        // The very last byte alone.
        assert_eq!(visited(usize::MAX, 1, 6), [usize::MAX & !63]);
        // A whole-line range at the top.
        assert_eq!(visited(usize::MAX - 63, 64, 6), [usize::MAX - 63]);
    }

    #[test]
    fn range_claiming_to_run_past_the_top_is_cut_there() {
        for (addr, len) in [
            (usize::MAX - 10, 100),
            (usize::MAX, usize::MAX),
            (64, usize::MAX),
        ] {
            let seen = visited(addr, len.min(4096), 6);
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "no wrap to address 0");
            assert_eq!(line_count(addr, len, 6), expected_count(addr, len, 6));
        }
    }

    #[test]
    fn count_matches_definition_for_huge_lengths() {
        for (addr, len) in [(0usize, usize::MAX), (1, usize::MAX - 1), (63, 1 << 40)] {
            assert_eq!(line_count(addr, len, 6), expected_count(addr, len, 6));
        }
    }
}

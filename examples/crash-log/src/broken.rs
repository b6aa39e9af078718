//! Deliberately broken appends, each [`Log::append`] with one mistake, for the tests to show
//! that the persistence model catches them. Never use these.
//!
//! - [`append_without_drain`]: no drain between the payload's write-back and the commit, so
//!   the commit word can reach memory before the payload;
//! - [`append_commit_before_flush`]: the commit word is stored and persisted before the
//!   payload is written back at all;
//! - [`append_flush_one_byte_short`]: the payload's write-back range ends one byte early, so
//!   a record whose last byte starts a new line loses that byte;
//! - [`append_commit_stored_early`]: the commit word is stored before the payload and
//!   persisted after it; correct only if caches never evict, so only the model with evictions
//!   catches it.

use pmem_flush::Persist;

use crate::{Error, Log, TAIL_AT};

/// [`Log::append`] without step 3 (the drain before the commit).
pub fn append_without_drain<P: Persist>(log: &mut Log<'_, P>, record: &[u8]) -> Result<(), Error> {
    let (at, end) = log.reserve(record.len())?;
    log.store(at, &(record.len() as u64).to_le_bytes())?;
    log.store(at + 8, record)?;
    log.flush(at, 8 + record.len());
    // Missing: log.p.drain();
    log.store_word(TAIL_AT, end)?;
    log.persist_word(TAIL_AT);
    log.tail = end;
    Ok(())
}

/// [`Log::append`] with the commit (steps 4 and 5) before the payload is flushed and drained.
pub fn append_commit_before_flush<P: Persist>(
    log: &mut Log<'_, P>,
    record: &[u8],
) -> Result<(), Error> {
    let (at, end) = log.reserve(record.len())?;
    log.store(at, &(record.len() as u64).to_le_bytes())?;
    log.store(at + 8, record)?;
    log.store_word(TAIL_AT, end)?;
    log.persist_word(TAIL_AT);
    log.flush(at, 8 + record.len());
    log.p.drain();
    log.tail = end;
    Ok(())
}

/// [`Log::append`] whose write-back range is one byte short.
pub fn append_flush_one_byte_short<P: Persist>(
    log: &mut Log<'_, P>,
    record: &[u8],
) -> Result<(), Error> {
    let (at, end) = log.reserve(record.len())?;
    log.store(at, &(record.len() as u64).to_le_bytes())?;
    log.store(at + 8, record)?;
    log.flush(at, 8 + record.len() - 1); // one byte short
    log.p.drain();
    log.store_word(TAIL_AT, end)?;
    log.persist_word(TAIL_AT);
    log.tail = end;
    Ok(())
}

/// [`Log::append`] that stores the commit word first and persists it last.
pub fn append_commit_stored_early<P: Persist>(
    log: &mut Log<'_, P>,
    record: &[u8],
) -> Result<(), Error> {
    let (at, end) = log.reserve(record.len())?;
    log.store_word(TAIL_AT, end)?; // too early: an eviction can write it back
    log.store(at, &(record.len() as u64).to_le_bytes())?;
    log.store(at + 8, record)?;
    log.flush(at, 8 + record.len());
    log.p.drain();
    log.persist_word(TAIL_AT);
    log.tail = end;
    Ok(())
}

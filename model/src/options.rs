//! [`Options`]: the model's hardware assumptions and the explorer's budget.

use pmem_flush::DEFAULT_NT_THRESHOLD;

/// What the model assumes about the hardware, and how many crash images the explorer tries.
///
/// `Options::new()` is libpmem's x86-64 default: 64-byte lines, non-temporal stores for copies
/// of 256 bytes and more, lines that reach memory whole, stores lost unless written back; every
/// crash point with at most 1024 images is enumerated, larger ones are sampled (64 images plus
/// the two extremes) from a fixed seed.
///
/// ```
/// use pmem_flush_model::Options;
///
/// // The stricter model: lines may reach memory in part (aligned 8-byte words), and a line
/// // stored to but not yet written back may be evicted at any crash point.
/// let strict = Options::new().with_torn_lines(true).with_evictions(true).with_seed(7);
/// assert_eq!(strict.line_size(), 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    line_size: usize,
    nt_threshold: usize,
    non_temporal: bool,
    torn_lines: bool,
    evictions: bool,
    max_enumerated: u64,
    samples: u64,
    seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl Options {
    /// The defaults (see the type's documentation).
    #[must_use]
    pub const fn new() -> Options {
        Options {
            line_size: 64,
            nt_threshold: DEFAULT_NT_THRESHOLD,
            non_temporal: true,
            torn_lines: false,
            evictions: false,
            max_enumerated: 1024,
            samples: 64,
            seed: 0x5eed_cafe_f00d_0001,
        }
    }

    /// The bytes one write-back covers, lines aligned in the address space (default 64; 128 is
    /// POWER's). Rounded up to a power of two, at least 8 and at most 4096.
    ///
    /// ```
    /// use pmem_flush_model::Options;
    /// assert_eq!(Options::new().with_line_size(100).line_size(), 128);
    /// assert_eq!(Options::new().with_line_size(0).line_size(), 8);
    /// assert_eq!(Options::new().with_line_size(usize::MAX).line_size(), 4096);
    /// ```
    #[must_use]
    pub const fn with_line_size(mut self, bytes: usize) -> Options {
        self.line_size = if bytes <= 8 {
            8
        } else if bytes >= 4096 {
            4096
        } else {
            bytes.next_power_of_two()
        };
        self
    }

    /// Copies from this many bytes up use non-temporal stores when their flags leave the choice
    /// to the length (libpmem's `PMEM_MOVNT_THRESHOLD`; default 256).
    #[must_use]
    pub const fn with_nt_threshold(mut self, bytes: usize) -> Options {
        self.nt_threshold = bytes;
        self
    }

    /// Whether copies may use non-temporal stores at all (default `true`, as on x86-64; `false`
    /// is every other target, and libpmem's `PMEM_NO_MOVNT`).
    #[must_use]
    pub const fn with_non_temporal(mut self, yes: bool) -> Options {
        self.non_temporal = yes;
        self
    }

    /// Whether a line written back but not drained may reach memory in part: any subset of its
    /// aligned 8-byte words (default `false`: each line reaches memory whole or not at all).
    /// Aligned 8-byte stores are the unit the hardware promises never to tear; `true` is that
    /// promise and no more.
    #[must_use]
    pub const fn with_torn_lines(mut self, yes: bool) -> Options {
        self.torn_lines = yes;
        self
    }

    /// Whether a line stored to since its last write-back may reach memory anyway, with its
    /// current contents, at any crash point (a cache eviction). Default `false`: stores never
    /// written back are lost in every crash image. With `true` the explorer also stops after
    /// every store.
    #[must_use]
    pub const fn with_evictions(mut self, yes: bool) -> Options {
        self.evictions = yes;
        self
    }

    /// Crash points with at most this many images are enumerated, image by image (default
    /// 1024: ten independent lines); larger ones are sampled.
    #[must_use]
    pub const fn with_max_enumerated(mut self, images: u64) -> Options {
        self.max_enumerated = images;
        self
    }

    /// How many random images a sampled crash point tries besides the two extremes (nothing
    /// reached memory; everything did). Default 64.
    #[must_use]
    pub const fn with_samples(mut self, images: u64) -> Options {
        self.samples = images;
        self
    }

    /// The seed of the sampling: the same operation, options and seed try the same images.
    #[must_use]
    pub const fn with_seed(mut self, seed: u64) -> Options {
        self.seed = seed;
        self
    }

    /// See [`with_line_size`](Options::with_line_size).
    #[must_use]
    pub const fn line_size(&self) -> usize {
        self.line_size
    }

    /// See [`with_nt_threshold`](Options::with_nt_threshold).
    #[must_use]
    pub const fn nt_threshold(&self) -> usize {
        self.nt_threshold
    }

    /// See [`with_non_temporal`](Options::with_non_temporal).
    #[must_use]
    pub const fn non_temporal(&self) -> bool {
        self.non_temporal
    }

    /// See [`with_torn_lines`](Options::with_torn_lines).
    #[must_use]
    pub const fn torn_lines(&self) -> bool {
        self.torn_lines
    }

    /// See [`with_evictions`](Options::with_evictions).
    #[must_use]
    pub const fn evictions(&self) -> bool {
        self.evictions
    }

    /// See [`with_max_enumerated`](Options::with_max_enumerated).
    #[must_use]
    pub const fn max_enumerated(&self) -> u64 {
        self.max_enumerated
    }

    /// See [`with_samples`](Options::with_samples).
    #[must_use]
    pub const fn samples(&self) -> u64 {
        self.samples
    }

    /// See [`with_seed`](Options::with_seed).
    #[must_use]
    pub const fn seed(&self) -> u64 {
        self.seed
    }
}

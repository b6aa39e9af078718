//! CPUID and XGETBV: the register reads behind x86-64 detection.

use core::arch::asm;
use core::arch::x86_64::__cpuid_count;

use crate::features::x86::Registers;

/// Reads the CPUID leaves and XCR0 that [`decode`](crate::features::x86::decode) needs.
///
/// Leaf 7 is read only when CPUID.0:EAX reports it; XCR0 only when CPUID.1:ECX.OSXSAVE\[27\] says
/// XGETBV is enabled (it faults otherwise). Works at every privilege level.
///
/// ```
/// use pmem_flush::arch::x86_64::read_registers;
/// use pmem_flush::features::x86;
///
/// let regs = read_registers();
/// println!("max leaf {:#x}, XCR0 {:#x}", regs.max_leaf, regs.xcr0);
/// let cpu = x86::decode(&regs); // what `Cpu::detect` does on x86-64 with SSE
/// assert!(cpu.line_size >= 16);
/// ```
#[must_use]
pub fn read_registers() -> Registers {
    let cpuid = |leaf, sub| {
        // SAFETY: CPUID exists on every x86-64 CPU. (Newer compilers made this intrinsic safe;
        // the block keeps the crate building on its minimum Rust version.)
        #[allow(unused_unsafe)]
        let r = unsafe { __cpuid_count(leaf, sub) };
        [r.eax, r.ebx, r.ecx, r.edx]
    };
    let max_leaf = cpuid(0, 0)[0];
    let leaf1 = if max_leaf >= 1 { cpuid(1, 0) } else { [0; 4] };
    let leaf7 = if max_leaf >= 7 { cpuid(7, 0) } else { [0; 4] };
    let xcr0 = if leaf1[2] & (1 << 27) != 0 {
        // SAFETY: OSXSAVE is set, so the OS enabled XSAVE and XGETBV with ECX = 0 is valid.
        unsafe { xgetbv0() }
    } else {
        0
    };
    Registers {
        max_leaf,
        leaf1,
        leaf7,
        xcr0,
    }
}

/// XGETBV with ECX = 0: the XCR0 register.
///
/// Manual: Intel SDM Vol. 2C, "XGETBV—Get Value of Extended Control Register".
///
/// # Safety
///
/// CPUID.1:ECX.OSXSAVE\[27\] must be set (XGETBV raises #UD otherwise).
#[inline]
unsafe fn xgetbv0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller checked OSXSAVE. A register read: touches no memory.
    unsafe {
        asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
             options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

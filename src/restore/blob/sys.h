/* SPDX-License-Identifier: Apache-2.0 */
/* Raw system calls for the freestanding blob (no libc, no errno): each
 * returns the kernel's value, -errno on failure.  x86_64: number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9; the instruction clobbers rcx and
 * r11. */
#ifndef CRAC_BLOB_SYS_H
#define CRAC_BLOB_SYS_H

#include <stdint.h>

static inline long sys1(long n, long a)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
    return r;
}

static inline long sys2(long n, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

static inline long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static inline long sys4(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return r;
}

static inline long sys5(long n, long a, long b, long c, long d, long e)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}

#define NR_write 1
#define NR_close 3
#define NR_munmap 11
#define NR_ioctl 16
#define NR_mremap 25
#define NR_prctl 157
#define NR_arch_prctl 158
#define NR_exit_group 231
#define NR_rseq 334
#define NR_clone3 435

#define B_MREMAP_MAYMOVE 1
#define B_MREMAP_FIXED 2
#define B_PR_SET_MM 35
#define B_PR_SET_MM_MAP 14
#define B_ARCH_SET_FS 0x1002
#define B_RSEQ_FLAG_UNREGISTER 1

#endif

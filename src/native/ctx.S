/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uint64_t crac__ctx_save(struct crac_cpu_ctx *ctx)     (returns twice)
 *
 * Saves what the System V ABI says survives a call (callee-saved registers,
 * the stack pointer, the return address, the SSE and x87 control words) and
 * the thread pointer, then returns 0.  The restorer blob later loads the same
 * values and "returns" a second time with a non-zero value: a pointer to the
 * restore information.  Layout must match struct crac_cpu_ctx (format.h).
 */
    .text
    .globl crac__ctx_save
    .hidden crac__ctx_save
    .type crac__ctx_save, @function
crac__ctx_save:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rdx      /* the caller's stack pointer after our ret */
    movq %rdx, 48(%rdi)
    movq (%rsp), %rdx       /* where to resume: our return address */
    movq %rdx, 56(%rdi)
    stmxcsr 64(%rdi)
    fnstcw 68(%rdi)
    movq %fs:0, %rdx        /* glibc keeps the thread pointer at %fs:0 */
    movq %rdx, 72(%rdi)
    xorl %eax, %eax
    ret
    .size crac__ctx_save, .-crac__ctx_save
    .section .note.GNU-stack,"",@progbits

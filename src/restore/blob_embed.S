/* SPDX-License-Identifier: Apache-2.0 */
/* The freestanding restorer blob, embedded as bytes (see Makefile). */
    .section .rodata
    .balign 4096
    .globl crac__blob_start
    .globl crac__blob_end
crac__blob_start:
    .incbin BLOB_BIN
crac__blob_end:
    .section .note.GNU-stack,"",@progbits

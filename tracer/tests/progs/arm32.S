@ AArch32 (32-bit ARM, EABI) test program, no C library: openat(AT_FDCWD,
@ ARGV[1], O_WRONLY|O_CREAT|O_TRUNC, 0644), then exit 0 if it returned a
@ descriptor, else with the errno. Under `--compat deny` every AArch32
@ syscall fails with ENOSYS, exit too: the program then reaches `udf` and
@ dies of SIGILL. Assembled with binutils-arm-linux-gnueabihf for the
@ aarch64 tests (tracer/tests/aarch64.rs).
    .syntax unified
    .arm
    .text
    .global _start
_start:
    ldr r1, [sp, #8]        @ argv[1]
    mvn r0, #99             @ AT_FDCWD (-100)
    ldr r2, =0x241          @ O_WRONLY | O_CREAT | O_TRUNC
    ldr r3, =0644
    ldr r7, =322            @ __NR_openat (arch/arm/tools/syscall.tbl)
    svc #0
    cmp r0, #0
    movge r0, #0
    rsblt r0, r0, #0
    mov r7, #1              @ __NR_exit
    svc #0
    udf #0                  @ reached only if exit failed

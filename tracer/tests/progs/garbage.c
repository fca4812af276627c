// Traced syscalls with invalid pointers and oversized arguments: the tracer
// must report them (with what it could read) and carry on.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    syscall(SYS_openat, AT_FDCWD, (char *)1, O_WRONLY | O_CREAT, 0644);
    syscall(SYS_openat, 12345, "relative-to-bad-fd", O_WRONLY | O_CREAT, 0644);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    syscall(SYS_connect, s, (void *)1, 16);
    syscall(SYS_connect, s, "x", 1000000);
    char *argv[] = { (char *)1, 0 };
    syscall(SYS_execve, "/nonexistent", argv, 0);
    syscall(SYS_execve, (char *)1, (char **)1, 0);
    // a 1 MiB path with no NUL inside the first 4096 bytes
    char *big = malloc(1 << 20);
    memset(big, 'a', 1 << 20);
    big[(1 << 20) - 1] = 0;
    syscall(SYS_openat, AT_FDCWD, big, O_WRONLY | O_CREAT, 0644);
    syscall(SYS_renameat2, AT_FDCWD, (char *)1, AT_FDCWD, (char *)2, 0xffff);
    return 7;
}

// Makes x32-ABI syscalls (number | 0x40000000): openat(PATH, O_WRONLY|O_CREAT)
// and execve("/bin/true"). Kernels without x32 support fail them with ENOSYS,
// but seccomp sees them first. Prints both results.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#define X32 0x40000000L
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    long r = syscall(X32 | SYS_openat, AT_FDCWD, argv[1], O_WRONLY | O_CREAT, 0644);
    int e1 = r < 0 ? errno : 0;
    char *args[] = { "true", 0 };
    long r2 = syscall(X32 | 520, "/bin/true", args, (char **)0);
    int e2 = r2 < 0 ? errno : 0;
    printf("%ld %d %ld %d\n", r, e1, r2, e2);
    return 0;
}

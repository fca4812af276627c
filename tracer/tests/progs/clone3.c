// Calls clone3 directly; the child creates DIR/clone3-<pid> and exits 7.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long p = syscall(SYS_clone3, &ca, sizeof ca);
    if (p < 0) { perror("clone3"); return 3; }
    if (p == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/clone3-%ld", argv[1], (long)syscall(SYS_getpid));
        int fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) syscall(SYS_close, fd);
        syscall(SYS_exit_group, 7);
    }
    int st;
    waitpid(p, &st, 0);
    printf("child %ld status %d\n", p, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
}

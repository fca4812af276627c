// kiltx-tracer benchmark workloads. Usage: workloads MODE SECONDS [ARG]
// Runs MODE in a loop for about SECONDS and prints "ops=N secs=S".
// MODE "stopcost" instead measures the cost of one seccomp ptrace stop with a
// minimal tracer and prints "stop_ns=X native_ns=Y".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *nothing(void *a) { return a; }

static const char *SCRIPT =
    "/bin/true; /bin/echo a > /dev/null; /bin/cat /dev/null; /bin/ls / > /dev/null; /bin/true; "
    "/bin/echo b > /dev/null; /bin/cat /dev/null; /bin/ls / > /dev/null; /bin/true; /bin/echo c > /dev/null";

// The datagram workloads: a receiver bound on a loopback port (never read:
// the kernel drops what overflows, sends still succeed) and a connected and
// an unconnected UDP socket sending to it.
static int udp_conn = -1, udp_free = -1;
static struct sockaddr_in udp_to;
static int udp_setup(void) {
    if (udp_conn >= 0) return 0;
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(rx, (struct sockaddr *)&a, sizeof a) || getsockname(rx, (struct sockaddr *)&a, &l))
        return -1;
    udp_to = a;
    udp_free = socket(AF_INET, SOCK_DGRAM, 0);
    udp_conn = socket(AF_INET, SOCK_DGRAM, 0);
    return connect(udp_conn, (struct sockaddr *)&a, sizeof a);
}

// one operation of MODE; batch = how many ops between clock reads
static int op(const char *mode, const char *dir, long i) {
    char p[4096];
    if (!strcmp(mode, "getpid")) {
        syscall(SYS_getpid);
    } else if (!strcmp(mode, "syscall-mix")) {
        close(dup(0));
        syscall(SYS_getpid);
        getuid();
        umask(022);
    } else if (!strcmp(mode, "open-close")) {
        snprintf(p, sizeof p, "%s/oc", dir);
        int fd = open(p, O_CREAT | O_WRONLY, 0644);
        if (fd < 0) return -1;
        close(fd);
    } else if (!strcmp(mode, "fork-wait")) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (c < 0) return -1;
        waitpid(c, 0, 0);
    } else if (!strcmp(mode, "fork-exec")) {
        pid_t c = fork();
        if (c == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        if (c < 0) return -1;
        waitpid(c, 0, 0);
    } else if (!strcmp(mode, "shell")) {
        pid_t c = fork();
        if (c == 0) { execl("/bin/sh", "sh", "-c", SCRIPT, (char *)0); _exit(127); }
        if (c < 0) return -1;
        waitpid(c, 0, 0);
    } else if (!strcmp(mode, "create-files")) {
        snprintf(p, sizeof p, "%s/f%ld", dir, i % 64);
        int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0) return -1;
        if (write(fd, "0123456789abcdef", 16) != 16) return -1;
        close(fd);
        unlink(p);
    } else if (!strcmp(mode, "udp-send")) {
        // connected: send() is sendto(.., NULL, 0), which the filter lets through
        if (udp_setup() || send(udp_conn, "x", 1, 0) != 1) return -1;
    } else if (!strcmp(mode, "udp-sendmsg")) {
        // connected, no msg_name: stops (the filter cannot read msg_name), no event
        struct iovec v = {.iov_base = "x", .iov_len = 1};
        struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
        if (udp_setup() || sendmsg(udp_conn, &m, 0) != 1) return -1;
    } else if (!strcmp(mode, "udp-sendto")) {
        // unconnected, to an address: stops, one event each
        if (udp_setup() ||
            sendto(udp_free, "x", 1, 0, (struct sockaddr *)&udp_to, sizeof udp_to) != 1)
            return -1;
    } else if (!strcmp(mode, "threads")) {
        pthread_t t;
        if (pthread_create(&t, 0, nothing, 0)) return -1;
        pthread_join(t, 0);
    } else {
        return -2;
    }
    return 0;
}

static int stopcost(double secs) {
    // child: TRACEME, stop, install a filter tracing getppid, loop; the
    // parent is the smallest possible tracer (wait + PTRACE_CONT).
    int pfd[2];
    if (pipe(pfd)) return 1;
    pid_t c = fork();
    if (c == 0) {
        close(pfd[0]);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { 4, f };
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog)) _exit(3);
        // native cost of the same syscall, untraced (getpid is not traced)
        long n = 0;
        double t0 = now();
        while (now() - t0 < secs / 4) { for (int k = 0; k < 100; k++) syscall(SYS_getpid); n += 100; }
        double native = (now() - t0) / n;
        n = 0;
        t0 = now();
        while (now() - t0 < secs) { for (int k = 0; k < 100; k++) syscall(SYS_getppid); n += 100; }
        double traced = (now() - t0) / n;
        double r[2] = { traced, native };
        if (write(pfd[1], r, sizeof r) != sizeof r) _exit(4);
        _exit(0);
    }
    close(pfd[1]);
    int st;
    waitpid(c, &st, 0);
    ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
    ptrace(PTRACE_CONT, c, 0, 0);
    for (;;) {
        if (waitpid(c, &st, 0) < 0) break;
        if (WIFEXITED(st) || WIFSIGNALED(st)) break;
        int sig = WSTOPSIG(st);
        ptrace(PTRACE_CONT, c, 0, (st >> 16) ? 0 : (sig == SIGTRAP ? 0 : sig));
    }
    double r[2];
    if (read(pfd[0], r, sizeof r) != sizeof r) return 1;
    printf("stop_ns=%.0f native_ns=%.1f\n", (r[0] - r[1]) * 1e9, r[1] * 1e9);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: workloads MODE SECONDS [DIR]\n"); return 2; }
    const char *mode = argv[1];
    double secs = atof(argv[2]);
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    if (!strcmp(mode, "stopcost")) return stopcost(secs);
    if (!strcmp(mode, "getpid-allow-all")) {
        // the floor for untraced rows: any seccomp filter at all (here one
        // that allows everything) puts syscalls on the kernel's slow path
        struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        struct sock_fprog prog = { 1, f };
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog)) return 3;
        mode = "getpid";
    }
    long batch = (!strcmp(mode, "getpid") || !strcmp(mode, "syscall-mix") ||
                  !strcmp(mode, "udp-send")) ? 1000
               : (!strcmp(mode, "open-close") || !strcmp(mode, "create-files")) ? 50 : 1;
    long n = 0;
    double t0 = now(), t;
    do {
        for (long k = 0; k < batch; k++)
            if (op(mode, dir, n + k)) { fprintf(stderr, "%s failed\n", mode); return 1; }
        n += batch;
        t = now() - t0;
    } while (t < secs);
    printf("ops=%ld secs=%.6f\n", n, t);
    return 0;
}

// What Falco's rules need from the events: one mode per argv[1].
//   ptrace                 PTRACE_TRACEME, then PTRACE_ATTACH to a child (both fail under a
//                          tracer: EPERM); prints the two results
//   links DIR              link of a missing file (fails), symlink to "/etc", symlinkat to
//                          "../etc/shadow" (raw targets), a failed sensitive open
//   sockets DIR PORT       TCP/UDP/unix stream/unix dgram connect, bind, listen, accept4;
//                          a UDP sendto over IPv6; socket(AF_PACKET); prints its errno
//   dup DIR PORT           dup2 of a TCP socket onto 0 and 1, dup3 of a file onto 2, dup2 of
//                          a file onto 10 and of a pipe onto 0; prints "ok"
//   thread-dgram DIR       a Unix datagram socket bound and connected from a second thread
//   quiet N                N times: socket(AF_INET), dup2 onto 10, dup3 onto 11 (no stop)
//   memfd NAME PROG        copies PROG into memfd NAME and executes it
//   chroot ROOT            chroot(ROOT) and exec /prog there (a static program)
//   as UID GID PROG        drop to UID/GID and exec PROG
//   pty PROG               PROG run with a new pseudo-terminal as its controlling tty;
//                          prints the tty's number (as /proc/PID/stat's tty_nr)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int tcp_to(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); exit(3); }
    return s;
}

static void unix_path(struct sockaddr_un *u, const char *dir, const char *name) {
    memset(u, 0, sizeof *u);
    u->sun_family = AF_UNIX;
    snprintf(u->sun_path, sizeof u->sun_path, "%s/%s", dir, name);
}

static void *dgram_thread(void *dir) {
    struct sockaddr_un u;
    unix_path(&u, dir, "thread.sock");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (bind(s, (struct sockaddr *)&u, sizeof u)) return (void *)1;
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (connect(c, (struct sockaddr *)&u, sizeof u)) return (void *)2;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "ptrace")) {
        long r1 = ptrace(PTRACE_TRACEME, 0, 0, 0);
        int e1 = errno;
        pid_t c = fork();
        if (c == 0) { pause(); _exit(0); }
        long r2 = ptrace(PTRACE_ATTACH, c, 0, 0);
        int e2 = errno;
        kill(c, SIGKILL);
        waitpid(c, 0, 0);
        printf("%ld %d %ld %d\n", r1, r1 ? e1 : 0, r2, r2 ? e2 : 0);
        return 0;
    }
    if (!strcmp(m, "links") && argc > 2) {
        char p[4096];
        snprintf(p, sizeof p, "%s/hard", argv[2]);
        if (link("/nonexistent-kiltx/shadow", p) == 0) return 3;
        snprintf(p, sizeof p, "%s/etc_link", argv[2]);
        if (symlink("/etc", p)) return 4;
        int d = open(argv[2], O_RDONLY | O_DIRECTORY);
        if (symlinkat("../etc//shadow", d, "shadow_link")) return 5;
        if (open("/root/.ssh/kiltx-no-such-key", O_RDONLY) >= 0) return 6;
        return 0;
    }
    if (!strcmp(m, "sockets") && argc > 3) {
        const char *dir = argv[2];
        int t = tcp_to(atoi(argv[3]));
        close(t);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(u, (struct sockaddr *)&a, sizeof a)) return 4;
        struct sockaddr_un us;
        unix_path(&us, dir, "stream.sock");
        int ls = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(ls, (struct sockaddr *)&us, sizeof us) || listen(ls, 1)) return 5;
        int cs = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(cs, (struct sockaddr *)&us, sizeof us)) return 6;
        int as = accept4(ls, 0, 0, SOCK_CLOEXEC);
        if (as < 0) return 7;
        struct sockaddr_un ud;
        unix_path(&ud, dir, "dgram.sock");
        int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (bind(ds, (struct sockaddr *)&ud, sizeof ud)) return 8;
        int dc = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (connect(dc, (struct sockaddr *)&ud, sizeof ud)) return 9;
        int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
        a6.sin6_addr = in6addr_loopback;
        sendto(u6, "x", 1, 0, (struct sockaddr *)&a6, sizeof a6);
        // the packet socket fails without CAP_NET_RAW; it is reported either way
        int p = socket(AF_PACKET, SOCK_RAW, htons(3));
        printf("%d\n", p >= 0 ? 0 : errno);
        return 0;
    }
    if (!strcmp(m, "dup") && argc > 3) {
        char f[4096];
        snprintf(f, sizeof f, "%s/dup.txt", argv[2]);
        int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int s = tcp_to(atoi(argv[3]));
        int saved = dup(1);  // plain dup: never stops
        if (dup2(s, 0) != 0 || dup2(s, 1) != 1) return 4;
        if (dup3(fd, 2, O_CLOEXEC) != 2) return 5;
        if (dup2(fd, 10) != 10) return 6;
        int pp[2];
        if (pipe(pp)) return 7;
        if (dup2(pp[0], 0) != 0) return 8;
        dup2(saved, 1);
        printf("ok\n");
        return 0;
    }
    if (!strcmp(m, "thread-dgram") && argc > 2) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, 0, dgram_thread, argv[2]) || pthread_join(t, &r)) return 3;
        return r ? 4 : 0;
    }
    if (!strcmp(m, "quiet") && argc > 2) {
        // sockets that are not AF_PACKET, dup2 onto a descriptor above 2
        for (long i = atol(argv[2]); i > 0; i--) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (s < 0 || dup2(s, 10) != 10 || dup3(s, 11, O_CLOEXEC) != 11) return 3;
            close(s);
            close(10);
            close(11);
        }
        return 0;
    }
    if (!strcmp(m, "memfd") && argc > 3) {
        int fd = memfd_create(argv[2], 0);
        int in = open(argv[3], O_RDONLY);
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(fd, buf, n) != n) return 3;
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        char *args[] = {argv[2], NULL};
        execv(p, args);
        perror("execv");
        return 4;
    }
    if (!strcmp(m, "chroot") && argc > 2) {
        if (chroot(argv[2]) || chdir("/")) { perror("chroot"); return 3; }
        char *args[] = {"/prog", NULL};
        execv("/prog", args);
        perror("execv");
        return 4;
    }
    if (!strcmp(m, "as") && argc > 4) {
        if (setgroups(0, 0) || setgid(atoi(argv[3])) || setuid(atoi(argv[2]))) return 3;
        execv(argv[4], argv + 4);
        return 4;
    }
    if (!strcmp(m, "pty") && argc > 2) {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) || unlockpt(master)) return 3;
        char *name = ptsname(master);
        struct stat st;
        if (!name || stat(name, &st)) return 4;
        unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
        printf("%u\n", (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12));
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            setsid();
            int s = open(name, O_RDWR);  // becomes the controlling terminal
            if (s < 0) _exit(5);
            execv(argv[2], argv + 2);
            _exit(6);
        }
        int st2;
        waitpid(c, &st2, 0);
        return WIFEXITED(st2) ? WEXITSTATUS(st2) : 9;
    }
    return 2;
}

// Ground-truth workload: marks itself, writes, renames, connects (inet and
// unix), forks a tree that execs, spawns threads, opens a sensitive file.
// Every process/thread "marks" itself by creating DIR/mark-LABEL-TID so that
// pids of two runs can be matched.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
static const char *dir;
static void mark(const char *label) {
    char p[4096];
    snprintf(p, sizeof p, "%s/mark-%s-%ld", dir, label, (long)syscall(SYS_gettid));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
}
static void *thr(void *arg) {
    char l[32];
    snprintf(l, sizeof l, "T%ld", (long)arg);
    mark(l);
    char p[4096];
    snprintf(p, sizeof p, "%s/from-thread-%ld", dir, (long)arg);
    int fd = open(p, O_RDWR | O_CREAT, 0600);
    if (fd >= 0) close(fd);
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    dir = argv[1];
    int port = atoi(argv[2]);
    const char *usock = argv[3];
    mark("W");
    char p[4096], q[4096];
    snprintf(p, sizeof p, "%s/data", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd >= 0) { write(fd, "x", 1); close(fd); }
    snprintf(q, sizeof q, "%s/data2", dir);
    rename(p, q);
    fd = open("/etc/hostname", O_RDONLY);   // not reported (read-only)
    if (fd >= 0) close(fd);
    fd = open("/etc/shadow", O_RDONLY);     // reported (sensitive)
    if (fd >= 0) close(fd);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connect(s, (struct sockaddr *)&a, sizeof a);
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = { .sun_family = AF_UNIX };
    strncpy(u.sun_path, usock, sizeof u.sun_path - 1);
    connect(s, (struct sockaddr *)&u, sizeof u);
    close(s);
    pid_t c = fork();
    if (c == 0) {
        mark("A");
        pid_t g = fork();
        if (g == 0) {
            mark("B");
            execl("/bin/echo", "echo", "from", "grandchild", (char *)0);
            _exit(127);
        }
        waitpid(g, 0, 0);
        _exit(0);
    }
    waitpid(c, 0, 0);
    // threads one after the other, so that fd numbers are deterministic
    for (long i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, 0, thr, (void *)i);
        pthread_join(t, 0);
    }
    return 0;
}

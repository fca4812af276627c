// N threads, each opens (creates) DIR/thread-<i> and exits.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *dir;
static void *work(void *arg) {
    char p[4096];
    snprintf(p, sizeof p, "%s/thread-%ld-%ld", dir, (long)arg, (long)syscall(SYS_gettid));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    dir = argv[1];
    int n = atoi(argv[2]);
    pthread_t *t = calloc(n, sizeof *t);
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], 0, work, (void *)i)) return 3;
    for (int i = 0; i < n; i++) pthread_join(t[i], 0);
    return 0;
}

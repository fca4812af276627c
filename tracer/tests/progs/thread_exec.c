// A non-leader thread execs ARGV[1...]; prints its tid first.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static char **args;
static void *work(void *arg) {
    (void)arg;
    printf("tid %ld pid %ld\n", (long)syscall(SYS_gettid), (long)getpid());
    fflush(stdout);
    execv(args[0], args);
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    args = argv + 1;
    pthread_t t;
    pthread_create(&t, 0, work, 0);
    pthread_join(t, 0);
    return 99; // not reached: the exec replaces the whole process
}

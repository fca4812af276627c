// vfork, child execs ARGV[1...]; parent waits and exits with the child's code.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t p = vfork();
    if (p == 0) { execv(argv[1], argv + 1); _exit(127); }
    int st;
    waitpid(p, &st, 0);
    printf("child %d\n", (int)p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

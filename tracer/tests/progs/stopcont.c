// Job control inside the traced tree: the parent stops and continues its
// child and checks it sees exactly what it would see without a tracer.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t c = fork();
    if (c == 0) { for (;;) pause(); }
    int st;
    usleep(50000);
    kill(c, SIGSTOP);
    if (waitpid(c, &st, WUNTRACED) != c || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) { printf("no stop %x\n", st); return 1; }
    // while stopped, the child must not run: its state is T
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) return 2;
    fclose(f);
    char *s = buf; while (*s && *s != ')') s++;
    char state = s[2];
    kill(c, SIGCONT);
    if (waitpid(c, &st, WCONTINUED) != c || !WIFCONTINUED(st)) { printf("no cont %x\n", st); return 3; }
    kill(c, SIGTERM);
    if (waitpid(c, &st, 0) != c || !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) { printf("no term %x\n", st); return 4; }
    printf("OK state=%c\n", state);
    return 0;
}

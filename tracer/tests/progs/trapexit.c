// trapexit SIGNO CODE READY: exit with CODE on signal SIGNO; creates the file
// READY once the handler is installed, then waits. The aarch64 guest's
// signal-forwarding check (aarch64.rs), without depending on how its shell
// handles traps.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int code;
static void on(int sig) { (void)sig; _exit(code); }
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    code = atoi(argv[2]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on;
    if (sigaction(atoi(argv[1]), &sa, 0)) return 3;
    close(open(argv[3], O_WRONLY | O_CREAT, 0644));
    for (;;) pause();
}

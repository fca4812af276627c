// Signals that used to show as numbers: SIGURG (Go's preemption signal) and
// SIGWINCH are ignored by default; SIGPROF then kills the program.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    kill(getpid(), SIGURG);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGWINCH);
    kill(getpid(), SIGPROF);
    return 0;
}

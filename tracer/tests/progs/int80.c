// i386 syscalls from a 64-bit program via `int 0x80`: open(ARGV[1],
// O_WRONLY|O_CREAT|O_TRUNC) and, if ARGV[2] is a port, socketcall(socket) +
// socketcall(connect) to 127.0.0.1:PORT. Prints the results.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
int main(int argc, char **argv) {
    // 32-bit syscalls take 32-bit pointers: use memory below 4 GiB
    char *buf = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap"); return 2; }
    strcpy(buf, argv[1]);
    long ret = int80(5 /* open */, (long)buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    printf("%ld", ret);
    if (argc > 2) {
        uint32_t *args = (uint32_t *)(buf + 1024);
        struct sockaddr_in *sa = (struct sockaddr_in *)(buf + 2048);
        args[0] = AF_INET; args[1] = SOCK_STREAM; args[2] = 0;
        long s = int80(102 /* socketcall */, 1 /* SYS_SOCKET */, (long)args, 0);
        memset(sa, 0, sizeof *sa);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(atoi(argv[2]));
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        args[0] = s; args[1] = (uint32_t)(uintptr_t)sa; args[2] = sizeof *sa;
        long c = int80(102, 3 /* SYS_CONNECT */, (long)args, 0);
        printf(" %ld %ld", s, c);
    }
    printf("\n");
    return 0;
}

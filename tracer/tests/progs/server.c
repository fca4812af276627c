// bind + listen on 127.0.0.1:0 (and an abstract unix socket), a child
// connects, the parent accepts. Prints "PORT CLIENTPORT".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4)) return 1;
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = { .sun_family = AF_UNIX };
    memcpy(ua.sun_path, "\0kiltx-test", 11);
    if (bind(u, (struct sockaddr *)&ua, sizeof(sa_family_t) + 11)) return 2;
    int p[2];
    if (pipe(p)) return 3;
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a)) _exit(1);
        struct sockaddr_in me; socklen_t ml = sizeof me;
        getsockname(s, (struct sockaddr *)&me, &ml);
        int port = ntohs(me.sin_port);
        write(p[1], &port, sizeof port);
        _exit(0);
    }
    struct sockaddr_in peer; socklen_t pl = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    if (s < 0) return 4;
    int cport = 0;
    if (read(p[0], &cport, sizeof cport) != sizeof cport) return 5;
    waitpid(c, 0, 0);
    printf("%d %d\n", ntohs(a.sin_port), cport);
    return 0;
}

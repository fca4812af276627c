// Listens on 127.0.0.1:ARGV[1] and on the unix socket ARGV[2], creates
// ARGV[3] when both listen, then waits to be killed: the peers the
// ground-truth workload connects to, in the aarch64 guest (aarch64.rs).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(t, (struct sockaddr *)&a, sizeof a) || listen(t, 16)) return 3;
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un s = { .sun_family = AF_UNIX };
    strncpy(s.sun_path, argv[2], sizeof s.sun_path - 1);
    unlink(argv[2]);
    if (bind(u, (struct sockaddr *)&s, sizeof s) || listen(u, 16)) return 4;
    close(open(argv[3], O_WRONLY | O_CREAT, 0644));
    for (;;) pause();
}

// Datagrams: from an unconnected UDP socket, one sendto, one sendmsg and one
// sendmmsg (two messages) to 127.0.0.1:PORT; then from a connected socket,
// NSEND send()s and NMSG sendmsg()s without an address.
// usage: udp PORT NSEND NMSG
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long nsend = atol(argv[2]), nmsg = atol(argv[3]);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    if (u < 0) return 3;
    if (sendto(u, "a", 1, 0, (struct sockaddr *)&sa, sizeof sa) != 1) return 4;
    struct iovec iov = {.iov_base = "b", .iov_len = 1};
    struct msghdr m = {.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1};
    if (sendmsg(u, &m, 0) != 1) return 5;
    struct mmsghdr mm[2];
    memset(mm, 0, sizeof mm);
    mm[0].msg_hdr = m;
    mm[1].msg_hdr = m;
    if (sendmmsg(u, mm, 2, 0) != 2) return 6;
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) return 7;
    struct msghdr cm = {.msg_iov = &iov, .msg_iovlen = 1};
    for (long i = 0; i < nsend; i++)
        if (send(c, "c", 1, 0) != 1) return 8;
    for (long i = 0; i < nmsg; i++)
        if (sendmsg(c, &cm, 0) != 1) return 9;
    return 0;
}

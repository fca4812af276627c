// io_uring with raw syscalls (no liburing): through one ring, open DIR/uring-out
// for writing and write to it, open SENSITIVE for reading, connect a TCP socket to
// 127.0.0.1:PORT. When io_uring_setup fails (the tracer's --io-uring deny, a
// seccomp profile, kernel.io_uring_disabled), fall back to plain syscalls as
// libuv does. Exit 0 when everything worked; prints "ring" or "fallback ERRNO".
// usage: uring DIR SENSITIVE PORT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int ring_fd;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

static int setup(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    ring_fd = syscall(__NR_io_uring_setup, 8, &p);
    if (ring_fd < 0) return -errno;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
                    IORING_OFF_SQ_RING);
    char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
                    IORING_OFF_CQ_RING);
    sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -EIO;
    sq_tail = (unsigned *)(sq + p.sq_off.tail);
    sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    sq_array = (unsigned *)(sq + p.sq_off.array);
    cq_head = (unsigned *)(cq + p.cq_off.head);
    cq_tail = (unsigned *)(cq + p.cq_off.tail);
    cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

// Submit one SQE and wait for its completion; the CQE's result.
static int run1(struct io_uring_sqe *tmpl) {
    unsigned tail = *sq_tail, idx = tail & *sq_mask;
    sqes[idx] = *tmpl;
    sq_array[idx] = idx;
    __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, ring_fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno;
    unsigned head = __atomic_load_n(cq_head, __ATOMIC_ACQUIRE);
    if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) return -EAGAIN;
    int res = cqes[head & *cq_mask].res;
    __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    char out[4096];
    snprintf(out, sizeof out, "%s/uring-out", argv[1]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char msg[] = "written through io_uring\n";
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int err = setup();
    if (err < 0) {
        printf("fallback %d\n", -err);
        int fd = openat(AT_FDCWD, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, msg, sizeof msg - 1) != sizeof msg - 1) return 3;
        if (openat(AT_FDCWD, argv[2], O_RDONLY) < 0) return 4;
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) return 5;
        return 0;
    }
    printf("ring\n");
    struct io_uring_sqe q;
    memset(&q, 0, sizeof q);
    q.opcode = IORING_OP_OPENAT;
    q.fd = AT_FDCWD;
    q.addr = (unsigned long)out;
    q.open_flags = O_WRONLY | O_CREAT | O_TRUNC;
    q.len = 0600;
    int fd = run1(&q);
    if (fd < 0) return 10;
    memset(&q, 0, sizeof q);
    q.opcode = IORING_OP_WRITE;
    q.fd = fd;
    q.addr = (unsigned long)msg;
    q.len = sizeof msg - 1;
    if (run1(&q) != sizeof msg - 1) return 11;
    memset(&q, 0, sizeof q);
    q.opcode = IORING_OP_OPENAT;
    q.fd = AT_FDCWD;
    q.addr = (unsigned long)argv[2];
    q.open_flags = O_RDONLY;
    if (run1(&q) < 0) return 12;
    memset(&q, 0, sizeof q);
    q.opcode = IORING_OP_CONNECT;
    q.fd = s;
    q.addr = (unsigned long)&sa;
    q.off = sizeof sa;
    if (run1(&q) < 0) return 13;
    return 0;
}

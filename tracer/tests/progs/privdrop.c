// Drops to nobody, creates DIR/after, then tries (and fails) to get root back.
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (setgroups(0, 0) || setgid(65534) || setuid(65534)) { perror("drop"); return 3; }
    char p[4096];
    snprintf(p, sizeof p, "%s/after", argv[1]);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { perror("open"); return 4; }
    close(fd);
    if (setuid(0) == 0) return 5;
    return 0;
}

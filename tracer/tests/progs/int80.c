#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
int main(int argc, char **argv) {
    char *buf = mmap(0, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap"); return 2; }
    strcpy(buf, argv[1]);
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(5), "b"(buf), "c"(O_WRONLY|O_CREAT|O_TRUNC), "d"(0644) : "memory");
    printf("%ld\n", ret);
    return 0;
}

/* semcount NPROCS TOTAL — NPROCS processes share TOTAL increments of one counter in a
 * System V shared-memory segment, each increment inside P/V on a semaphore of value 1.
 * The parent waits for them all and prints "total=<counter>", which must be TOTAL.
 *
 * The increment is a read, a sched_yield(), then a write: the yield lets another process
 * run in the middle, so that without the semaphore updates are lost even on one CPU. */
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int parse_args(int argc, char **argv, long *nprocs, long *total)
{
    char *end;

    if (argc != 3)
        return -1;
    *nprocs = strtol(argv[1], &end, 10);
    if (*end != '\0' || end == argv[1] || *nprocs < 1 || *nprocs > 64)
        return -1;
    *total = strtol(argv[2], &end, 10);
    if (*end != '\0' || end == argv[2] || *total < 0 || *total > 100000000)
        return -1;
    return 0;
}

static void sem_p(int sem)
{
    struct sembuf op = { 0, -1, SEM_UNDO };

    if (semop(sem, &op, 1) < 0) {
        perror("semop");
        _exit(1);
    }
}

static void sem_v(int sem)
{
    struct sembuf op = { 0, +1, SEM_UNDO };

    if (semop(sem, &op, 1) < 0) {
        perror("semop");
        _exit(1);
    }
}

/* One child's share of the work: `n` increments, each one inside the critical section */
static void count(int sem, volatile int *counter, long n)
{
    for (long i = 0; i < n; i++) {
        sem_p(sem);
        int seen = *counter;
        sched_yield(); /* invite another process in between the read and the write */
        *counter = seen + 1;
        sem_v(sem);
    }
}

/* Child i makes TOTAL / NPROCS increments, the first TOTAL % NPROCS one more */
static long share(long total, long nprocs, long i)
{
    return total / nprocs + (i < total % nprocs ? 1 : 0);
}

int main(int argc, char **argv)
{
    long nprocs, total;

    if (parse_args(argc, argv, &nprocs, &total) < 0) {
        fprintf(stderr, "usage: semcount NPROCS TOTAL\n");
        return 2;
    }

    int shm = shmget(IPC_PRIVATE, sizeof(int), IPC_CREAT | 0600);
    if (shm < 0) {
        perror("shmget");
        return 1;
    }
    volatile int *counter = (volatile int *) shmat(shm, NULL, 0);
    /* Marked for deletion now: it goes when the last process detaches, even on a crash */
    shmctl(shm, IPC_RMID, NULL);
    if (counter == (void *) -1) {
        perror("shmat");
        return 1;
    }
    *counter = 0;

    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    unsigned short one = 1;
    if (sem < 0 || semctl(sem, 0, SETALL, &one) < 0) {
        perror("semget");
        if (sem >= 0)
            semctl(sem, 0, IPC_RMID);
        return 1;
    }

    int status = 0;
    for (long i = 0; i < nprocs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            status = 1;
            break;
        }
        if (pid == 0) {
            count(sem, counter, share(total, nprocs, i));
            _exit(0);
        }
    }

    int child_status;
    while (wait(&child_status) > 0)
        if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0)
            status = 1;

    printf("total=%d\n", *counter);
    shmdt((const void *) counter);
    if (semctl(sem, 0, IPC_RMID) < 0) {
        perror("semctl");
        status = 1;
    }
    return status;
}

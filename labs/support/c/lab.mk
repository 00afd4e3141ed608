# lab.mk -- the rules every C lab's Makefile includes: each program PROG of $(PROGRAMS)
# is PROG.c (your work) linked with the lab's common.c and the course's support.c.
# The grader runs `make PROG SUPPORT=<the course's own copy of this directory>` with
# CC=gcc CFLAGS="-O2 -Wall" LDFLAGS=-static; by hand, the defaults below do the same
# (glibc < 2.34 keeps the POSIX IPC calls in -lrt and -pthread, hence LDLIBS).
CFLAGS ?= -O2 -Wall
LDFLAGS ?= -static
LDLIBS ?= -lrt -pthread
HEADERS ?= common.h
CPPFLAGS += -I$(SUPPORT)

all: $(PROGRAMS)

$(PROGRAMS): %: %.o common.o support.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

support.o: $(SUPPORT)/support.c $(SUPPORT)/support.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

%.o: %.c $(HEADERS) $(SUPPORT)/support.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

clean:
	rm -f $(PROGRAMS) *.o

.PHONY: all clean

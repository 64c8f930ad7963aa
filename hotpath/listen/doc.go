// Package listen owns the sockets the carbon and statsd receivers read from: UDP on
// SO_REUSEPORT sockets read with recvmmsg, TCP on epoll event loops, and their drain.
//
// It only moves bytes. Protocol parsing lives with the receivers: a UDP datagram goes
// to a PacketHandler, a TCP read goes to the connection's Session, and neither knows
// where a line starts or ends.
//
// # Threading model
//
// UDP: ListenUDP opens one socket per worker (UDPOptions.Sockets, GOMAXPROCS by
// default), all bound to one address with SO_REUSEPORT so the kernel spreads flows
// across them. Each socket has one goroutine, which reads up to UDPOptions.Batch
// datagrams per recvmmsg into buffers it owns and reuses, and calls its own
// PacketHandler (made by handle(worker) at start) once per datagram. A socket found
// empty is waited on in Go's network poller (no thread is parked in the kernel),
// through an epoll instance of the socket's own where the socket is registered
// one-shot: between a wake-up and the next time the socket is found empty, datagrams
// wake nobody, so UDPOptions.Wait can let batches fill under a stream of small
// datagrams instead of paying a wake-up per datagram. A PacketHandler is therefore only ever
// called from one goroutine and needs no locking of its own.
//
// TCP: ListenTCP starts TCPOptions.Loops event loops (GOMAXPROCS by default). Each
// loop is one goroutine with its own epoll instance and its own SO_REUSEPORT
// listening socket, so the kernel spreads new connections across the loops and a
// loop busy with one connection never holds up another loop's accepts. A connection
// lives on the loop that accepted it; every Session call (Data, Close) for it runs on
// that loop's goroutine, one at a time. An idle connection costs a map entry, a small
// struct, its Session and the kernel's socket: no goroutine, no buffer (reads go
// through one buffer per loop). A loop's epoll instance is itself registered with
// Go's network poller and polled with epoll_wait(0), so an idle loop parks like any
// goroutine waiting on a socket: it never holds a thread and its P in a blocking
// epoll_wait, which with GOMAXPROCS=1 starved the other goroutines until sysmon
// took the P back (92 MB/s through one connection instead of 3.2 GB/s).
//
// The TCP loops are written directly on epoll with golang.org/x/sys/unix instead of
// github.com/tidwall/evio (v1.0.8), because evio cannot drain, which the appliance's
// SIGTERM contract requires. What was checked against evio's source and on loopback:
//
//   - Shutdown closes every connection without reading what is already queued on it:
//     100,000 bytes a client wrote before the Shutdown reached no Data event, though
//     Closed was called for the connection. Connections still in the listen queue
//     are reset when the listener closes.
//   - The only ways to start a Shutdown are an event's return value or a Tick; there
//     is no call that stops a running server from outside, and Conn does not expose the
//     file descriptor, so a final non-blocking read on drain is not possible either.
//   - An accept error other than EAGAIN (EMFILE when the fd limit is reached) returns
//     from the loop and shuts the whole server down: after one EMFILE, Serve returned
//     and the port refused connections.
//   - A failing epoll_ctl panics inside the library.
//   - Its loops wait in a blocking epoll_wait (100 ms timeout), the GOMAXPROCS=1
//     trap described above.
//
// # Drain
//
// Drain is how a SIGTERM stops a listener without losing anything the kernel already
// accepted. It first attaches a classic BPF filter that drops everything new (for a
// UDP socket and a TCP listener: every packet, so new datagrams and new handshakes are
// refused), so that "already accepted" is a fixed amount. Then UDP reads each socket
// until EAGAIN and delivers every datagram. TCP goes through the open connections,
// then accepts the ones still in the listen queue and goes through those; for each
// it attaches a filter that drops segments carrying data (ACKs and FINs still pass),
// reads until EAGAIN or EOF, delivers, removes the filter, closes the socket and
// calls Session.Close. Data a client sends after that filter was never acknowledged:
// the client's kernel still holds it, retransmits it to the closed socket and gets a
// reset, so the client sees an error instead of a silent loss. The one window left is
// between removing the filter and the close, two system calls. Drain returns once no
// callback is running any more.
package listen

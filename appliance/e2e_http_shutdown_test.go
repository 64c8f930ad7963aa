package appliance

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2ESIGTERMWithSilentHTTPClient holds a connection to the HTTP port
// that has not sent a request yet, as an HTTP client's spare connection, a
// browser's preconnect or a TCP health check does, and requires SIGTERM to
// end the daemon with exit 0, without waiting for that client. net/http's
// Shutdown counts such a connection as active until it is 5 s old, and
// statbox once gave Shutdown 5 s: it exited 1 ("drain failed: context
// deadline exceeded"). How long the drain takes is not asserted (the machine
// may be loaded); that it ends cleanly, with the connection closed, is.
func TestE2ESIGTERMWithSilentHTTPClient(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	d := startDaemon(t, bin, filepath.Join(t.TempDir(), "data"))
	c := dial(t, d.HTTP) // and nothing sent on it
	time.Sleep(100 * time.Millisecond)
	d.signal(syscall.SIGTERM)
	d.waitExit(30 * time.Second)
	if strings.Contains(d.Logs(), "drain failed") {
		t.Fatalf("the drain failed:\n%s", d.Logs())
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the silent connection is still open after exit: read %d bytes", n)
	}
}

package appliance

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestE2ESIGTERMWithSilentHTTPClient holds a connection to the HTTP port
// that has not sent a request yet, as an HTTP client's spare connection, a
// browser's preconnect or a TCP health check does, and requires SIGTERM to
// end the daemon with exit 0, without waiting for that client. net/http's
// Shutdown counts such a connection as active until it is 5 s old, and
// statbox gives Shutdown 5 s: it exits 1 ("drain failed: context deadline
// exceeded") after 5 s.
func TestE2ESIGTERMWithSilentHTTPClient(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	d := startDaemon(t, bin, filepath.Join(t.TempDir(), "data"))
	dial(t, d.HTTP) // and nothing sent on it
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	d.signal(syscall.SIGTERM)
	d.waitExit(30 * time.Second)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("exit 0, but %v after SIGTERM: the drain waited for a client that never sent a request", took)
	}
}

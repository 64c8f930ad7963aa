package boot

import "testing"

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/bin/statbox", "run", "--data", "/data"}, "http://127.0.0.1:8080/health"},
		{[]string{"run", "--http", ":80"}, "http://127.0.0.1:80/health"},
		{[]string{"run", "-http=10.0.0.5:8081"}, "http://10.0.0.5:8081/health"},
		{[]string{"run", "--http=[::]:9000"}, "http://127.0.0.1:9000/health"},
		{[]string{"run", "--http", "off"}, ""},
	} {
		if got := healthURL(tc.args); got != tc.want {
			t.Errorf("healthURL(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

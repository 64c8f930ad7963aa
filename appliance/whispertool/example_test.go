package whispertool_test

import (
	"fmt"
	"os"

	"statbox/appliance/whispertool"
)

func ExampleMain() {
	env := whispertool.Env{Stdout: os.Stdout, Stderr: os.Stdout}
	code := whispertool.Main([]string{"create", "--estimate", "1m:1d,1h:30d"}, env)
	fmt.Println("exit status", code)
	code = whispertool.Main([]string{"fetch", "--from", "yesterday", "x.wsp"}, env)
	fmt.Println("exit status", code)
	// Output:
	// Archive 0: 1440 points of 60s precision
	// Archive 1: 720 points of 3600s precision
	//
	// Estimated Whisper DB Size: 25.352KB (28672 bytes on disk with 4k blocks)
	//
	// Estimated storage requirement for 1k metrics: 27.344MB
	// Estimated storage requirement for 5k metrics: 136.719MB
	// Estimated storage requirement for 10k metrics: 273.438MB
	// Estimated storage requirement for 50k metrics: 1.335GB
	// Estimated storage requirement for 100k metrics: 2.670GB
	// Estimated storage requirement for 500k metrics: 13.351GB
	// exit status 0
	// Usage: whisper-fetch [options] path
	//
	// whisper-fetch: error: option --from: invalid integer value: 'yesterday'
	// exit status 2
}

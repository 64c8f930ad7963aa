package schema_test

import (
	"fmt"
	"log"
	"strings"

	"statbox/storage/schema"
)

func ExampleRules_ForMetric() {
	rules, err := schema.Load("") // the built-in rules
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"stats.timers.api.upper_90", "stats_counts.api.hits", "stats.gauges.queue"} {
		archives, opts := rules.ForMetric(name)
		fmt.Println(name, archives, opts.AggregationMethod, opts.XFilesFactor)
	}
	// Output:
	// stats.timers.api.upper_90 [(10, 2160) (60, 10080) (600, 262800)] max 0.1
	// stats_counts.api.hits [(10, 2160) (60, 10080) (600, 262800)] sum 0
	// stats.gauges.queue [(10, 2160) (60, 10080) (600, 262800)] average 0.5
}

func ExampleParseSchemas() {
	conf := `
[carbon]
pattern = ^carbon\.
retentions = 60:90d

[default]
pattern = .*
retentions = 10s:6h,1m:7d,10m:5y
`
	schemas, err := schema.ParseSchemas(strings.NewReader(conf), "storage-schemas.conf")
	if err != nil {
		log.Fatal(err)
	}
	rules := schema.Rules{Schemas: schemas}
	for _, name := range []string{"carbon.agents.a.cpuUsage", "web.requests"} {
		s := rules.Schema(name)
		fmt.Println(name, s.Name, s.Archives)
	}

	_, err = schema.ParseSchemas(strings.NewReader("[stats]\npattern = ^stats\\.\nretentions = 10s:6h,1min:6d\n"), "storage-schemas.conf")
	fmt.Println(err)
	// Output:
	// carbon.agents.a.cpuUsage carbon [(60, 129600)]
	// web.requests default [(10, 2160) (60, 10080) (600, 262800)]
	// storage-schemas.conf:3: [stats] retentions: Invalid unit 'min' in '1min:6d': carbon takes s, m, h, d, w or y
}

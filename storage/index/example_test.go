package index_test

import (
	"fmt"

	"statbox/storage/index"
)

func ExampleIndex_Expand() {
	x := index.New()
	for _, n := range []string{"servers.web01.load", "servers.web02.load", "servers.db01.load", "servers.web01.cpu.user"} {
		x.Add(n)
	}
	fmt.Println(x.Expand("servers.web*.load"))
	fmt.Println(x.Expand("servers.{db,web}01.*"))
	// Output:
	// [servers.web01.load servers.web02.load]
	// [servers.db01.load servers.web01.load]
}

func ExampleIndex_TaggedSeries() {
	x := index.New()
	for _, n := range []string{"disk.used;dc=x;host=a", "disk.used;dc=y;host=b", "disk.used;host=c"} {
		x.Add(n) // as the cache's OnCreate does
	}
	got, err := x.TaggedSeries([]string{"name=disk.used", "dc!=x"})
	fmt.Println(got, err)
	_, err = x.TaggedSeries([]string{"dc!=x"})
	fmt.Println(err)
	// Output:
	// [disk.used;dc=y;host=b disk.used;host=c] <nil>
	// bad tag expression: at least one tagspec must not match the empty string
}

func ExampleIndex_Find() {
	x := index.New()
	x.Add("a.b")
	x.Add("a.b.c")
	nodes, _ := x.Find("a.*")
	for _, n := range nodes {
		fmt.Println(n.Path, "leaf:", n.Leaf, "branch:", n.Branch)
	}
	// Output:
	// a.b leaf: true branch: true
}

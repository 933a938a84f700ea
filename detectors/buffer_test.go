package detectors

import "testing"

func TestBlocks(t *testing.T) {
	var b blocks[string]
	const n = 3*blockLen + 7
	for i := range n {
		if got := b.append(string(rune('a' + i%26))); got != int32(i) {
			t.Fatalf("append %d returned index %d", i, got)
		}
	}
	first := b.at(0)
	b.append("x") // growing never moves what is held
	if b.at(0) != first || b.len() != n+1 {
		t.Fatalf("block moved or length %d", b.len())
	}
	for _, i := range []int32{0, blockLen - 1, blockLen, 2*blockLen + 5, n - 1} {
		if want := string(rune('a' + i%26)); *b.at(i) != want {
			t.Errorf("at(%d) = %q, want %q", i, *b.at(i), want)
		}
	}
	b.truncate(blockLen + 1)
	if b.len() != blockLen+1 || b.b[1][1] != "" || *b.at(blockLen) != string(rune('a'+blockLen%26)) {
		t.Errorf("truncate: len %d, released %q, kept %q", b.len(), b.b[1][1], *b.at(blockLen))
	}
	if got := b.append("y"); got != blockLen+1 || len(b.b) != 4 {
		t.Errorf("after truncate: index %d, %d blocks (reused)", got, len(b.b))
	}
}

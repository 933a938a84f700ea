package idhash

import "testing"

func TestHashStable(t *testing.T) {
	// The hash must not change between processes or releases: rows are compared across replays.
	if got := String(ID, "order-1"); got != String(ID, "order-1") {
		t.Fatal("unstable")
	}
	if String(Session, "x") == String(Viewer, "x") {
		t.Fatal("domains collide")
	}
	const want = uint64(0xf84e894ef7845c51)
	if got := String(ID, "livepulse"); got != want {
		t.Logf("String(ID, \"livepulse\") = %#x", got)
		t.Fatalf("hash changed: %#x, want %#x (update only if the change is deliberate)", got, want)
	}
}

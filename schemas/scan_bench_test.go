package schemas

import "testing"

// BenchmarkScan is the strict reader alone, the part of Decode before the fields are read, on
// the shapes producers send most.
func BenchmarkScan(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.kind.String(), func(b *testing.B) {
			var s scanner
			raw := []byte(m.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := s.scan(m.kind, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package detectors

// blockLen is the events per block of a waiting buffer.
const blockLen = 4096

// blocks is a growable sequence stored in fixed-size blocks: appending never moves what it holds.
// During a backlog catch-up the engine may hold millions of waiting events; a plain slice would
// copy them all at every doubling (measured: 6 % of the pipeline's CPU in `livepulse bench`).
// Blocks are kept for reuse once allocated.
type blocks[T any] struct {
	b [][]T
	n int32
}

func (s *blocks[T]) len() int32 { return s.n }

func (s *blocks[T]) append(v T) int32 {
	i := s.n
	if int(i/blockLen) == len(s.b) {
		s.b = append(s.b, make([]T, blockLen))
	}
	s.b[i/blockLen][i%blockLen] = v
	s.n++
	return i
}

func (s *blocks[T]) at(i int32) *T { return &s.b[i/blockLen][i%blockLen] }

// truncate keeps the first n and zeroes the rest, releasing what they point to.
func (s *blocks[T]) truncate(n int32) {
	var zero T
	for i := n; i < s.n; i++ {
		*s.at(i) = zero
	}
	s.n = n
}

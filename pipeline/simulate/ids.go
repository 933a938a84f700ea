package simulate

import (
	"strconv"
)

// bitset marks viewers of the population: who was ever seen (for Stats.Viewers) and who is
// watching right now (so an honest viewer never watches two streams at once). Its size is fixed
// by the population, so memory does not grow with the run.
type bitset []uint64

func newBitset(n uint32) bitset { return make(bitset, (uint64(n)+63)/64) }

// set marks i and reports whether it was unmarked.
func (b bitset) set(i uint32) bool {
	w, m := i/64, uint64(1)<<(i%64)
	was := b[w]&m != 0
	b[w] |= m
	return !was
}

func (b bitset) clear(i uint32)    { b[i/64] &^= uint64(1) << (i % 64) }
func (b bitset) has(i uint32) bool { return b[i/64]&(uint64(1)<<(i%64)) != 0 }

// mix is splitmix64's finalizer: a cheap, well-spread hash for deriving per-viewer attributes
// (device, address) without storing them.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Address blocks viewers come from: mostly Chinese broadband ISPs, some elsewhere, and mobile
// carrier NAT ranges that many phones share.
var (
	homeFirstOctets   = []byte{36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 180, 182, 183, 211, 218, 219, 220, 221, 222}
	abroadFirstOctets = []byte{24, 50, 66, 68, 73, 76, 98, 174, 81, 86, 92}
	mobilePrefixes    = [][2]byte{{223, 104}, {117, 136}, {112, 96}, {39, 144}, {111, 55}}
)

// viewerIP is the address of one session: the household's line (shared by up to 3 viewers, as
// behind a home router) or, for sessions on mobile data, an address in a carrier NAT range.
func viewerIP(buf []byte, viewer uint32, session uint64, mobile bool) []byte {
	var a, b, c, d byte
	if mobile {
		h := mix(uint64(viewer)<<32 ^ session)
		p := mobilePrefixes[h%uint64(len(mobilePrefixes))]
		a, b, c, d = p[0], p[1], byte(h>>16), byte(h>>24)
	} else {
		h := mix(uint64(viewer/3) ^ 0x1f0)
		if h%100 < 88 {
			a = homeFirstOctets[(h>>8)%uint64(len(homeFirstOctets))]
		} else {
			a = abroadFirstOctets[(h>>8)%uint64(len(abroadFirstOctets))]
		}
		b, c, d = byte(h>>24), byte(h>>32), byte(h>>40)
	}
	d = max(d, 1) // .0 is a network address
	buf = strconv.AppendUint(buf, uint64(a), 10)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, uint64(b), 10)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, uint64(c), 10)
	buf = append(buf, '.')
	return strconv.AppendUint(buf, uint64(d), 10)
}

// sharedDevicePct of households (the up to 3 viewers of a line, see viewerIP) watch on one shared
// tablet or TV instead of their own phones, so an honest device can carry up to 3 accounts.
const sharedDevicePct = 8

// deviceID is the viewer's phone, or the household's shared device: stable across sessions and
// seeds ("dev-3fa9c04e1b22").
func deviceID(buf []byte, viewer uint32) []byte {
	const hex = "0123456789abcdef"
	key := uint64(viewer)
	if household := uint64(viewer / 3); mix(household^0x7ab1e7)%100 < sharedDevicePct {
		key = household | 1<<40
	}
	h := mix(key ^ 0xde71ce)
	buf = append(buf, "dev-"...)
	for i := 44; i >= 0; i -= 4 {
		buf = append(buf, hex[(h>>i)&0xf])
	}
	return buf
}

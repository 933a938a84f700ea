package simulate

import (
	"errors"
	"slices"
)

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }

func slicesSortDesc(s []int) {
	slices.Sort(s)
	slices.Reverse(s)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

package controller

import (
	"errors"
	"fmt"
)

func mustEpoch(epoch int) {
	if epoch < 0 {
		panic("negative epoch") // planted: PanicMessage
	}
}

func mustOffset(offset int) {
	if offset < 0 {
		//lint:ignore PanicMessage fixture: proves the escape hatch suppresses
		panic(fmt.Sprintf("negative offset %d", offset))
	}
}

// rethrow re-panics an error value: fine.
func rethrow(err error) {
	if errors.Is(err, errFatal) {
		panic(err)
	}
}

var errFatal = errors.New("controller: fatal")

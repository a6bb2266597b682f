package sim

// poll picks among ready cases at random (default counts): caught.
func poll(events <-chan int) int {
	select { // planted: MultiCaseSelect
	case e := <-events:
		return e
	default:
		return 0
	}
}

func either(a, b <-chan int) int {
	//lint:ignore MultiCaseSelect fixture: proves the escape hatch suppresses
	select {
	case v := <-a:
		return v
	case v := <-b:
		return v
	}
}

// wait has one case: deterministic, fine.
func wait(events <-chan int) int {
	select {
	case e := <-events:
		return e
	}
}

package sim

// background starts a goroutine in the core: caught.
func background(work func()) {
	go work() // planted: GoStatement
}

func backgroundExempt(work func()) {
	//lint:ignore GoStatement fixture: proves the escape hatch suppresses
	go work()
}

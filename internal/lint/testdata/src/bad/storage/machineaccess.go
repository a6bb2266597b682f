package storage

import "os"

// readConfig reads a file behind env's back: caught.
func readConfig() ([]byte, error) {
	return os.ReadFile("takhin.conf") // planted: MachineAccess
}

func pid() int {
	//lint:ignore MachineAccess fixture: proves the escape hatch suppresses
	return os.Getpid()
}

// flags uses os's types, constants and error values: fine.
func flags(mode os.FileMode, err error) (int, bool) {
	return os.O_RDWR | os.O_APPEND, mode&os.ModeDir != 0 && os.IsNotExist(err)
}

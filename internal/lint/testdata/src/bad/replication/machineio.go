package replication

import "example.com/takhin/env"

// Persist does I/O inside the machine: caught.
func (r *Replica) Persist(fsys env.FS) error { // planted: MachineIO
	_, err := fsys.Create("log")
	return err
}

// executor is not a machine: it does the I/O for one.
type executor struct{ fsys env.FS }

func (e *executor) send(net env.Network, frame []byte) error {
	return net.Send(1, frame)
}
